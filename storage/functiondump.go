package storage

// rdbOpcodeFunction2 opens a function library in an RDB (rdb.h's
// RDB_OPCODE_FUNCTION2): the library's code as an RDB string follows.
const rdbOpcodeFunction2 = 245

// EncodeFunctions returns FUNCTION DUMP's payload for libraries' code: one
// RDB_OPCODE_FUNCTION2 record each, then DUMP's version and CRC64 footer,
// as Redis 7.0 writes it.
func EncodeFunctions(codes []string) []byte {
	var out []byte
	for _, c := range codes {
		out = append(out, rdbOpcodeFunction2)
		out = appendStr(out, []byte(c))
	}
	return AppendDumpFooter(out)
}

// DecodeFunctions returns the libraries' code in a FUNCTION DUMP payload;
// ErrDumpChecksum when its footer does not check (DecodeDump), ErrDumpFormat when a
// record is not a library.
func DecodeFunctions(p []byte) ([]string, error) { return decodeFunctions(p, true) }

// DecodeFunctions is the package's DecodeFunctions, with the checksum
// left unchecked while DEBUG SET-SKIP-CHECKSUM-VALIDATION is on.
func (s *Store) DecodeFunctions(p []byte) ([]string, error) {
	return decodeFunctions(p, !s.skipChecksum.Load())
}

func decodeFunctions(p []byte, checksum bool) ([]string, error) {
	body, err := dumpBody(p, checksum)
	if err != nil {
		return nil, err
	}
	r := &rdbReader{b: body}
	var codes []string
	for r.left() > 0 {
		op, err := r.byte()
		if err != nil || op != rdbOpcodeFunction2 {
			return nil, ErrDumpFormat
		}
		code, err := r.str()
		if err != nil {
			return nil, ErrDumpFormat
		}
		codes = append(codes, string(code))
	}
	return codes, nil
}
