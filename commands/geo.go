package commands

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/shoaldb/shoal/storage"
)

// Geo commands. A geo set is a sorted set whose scores are 52-bit
// interleaved geohashes (26 bits of longitude, 26 of latitude), as Redis
// 7.0 stores them, so GEOADD is ZADD with computed scores and a radius or
// box search is up to nine score-range scans, one per geohash box around
// the centre. The arithmetic below is a port of Redis 7.0's geohash.c,
// geohash_helper.c and geo.c, operation for operation, so positions,
// distances and hashes equal Redis's to the printed digit.

func geoCommands() []*Command {
	const g = "geo"
	read := []string{"read", "geo", "slow"}
	write := []string{"write", "geo", "slow"}
	const perMember = "O(log(N)) for each member requested, where N is the number of elements in the sorted set."
	const radiusCx = "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index."
	const searchCx = "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape"
	return []*Command{
		{Name: "geoadd", Arity: -5, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, ACL: write, Group: g,
			Summary: "Add one or more geospatial items in the geospatial index represented using a sorted set", Since: "3.2.0",
			Complexity: "O(log(N)) for each item added, where N is the number of elements in the sorted set.", Handler: geoadd},
		{Name: "geodist", Arity: -4, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: read, Group: g,
			Summary: "Returns the distance between two members of a geospatial index", Since: "3.2.0",
			Complexity: "O(log(N))", Handler: geodist},
		{Name: "geohash", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: read, Group: g,
			Summary: "Returns members of a geospatial index as standard geohash strings", Since: "3.2.0",
			Complexity: perMember, Handler: geohashCmd},
		{Name: "geopos", Arity: -2, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: read, Group: g,
			Summary: "Returns longitude and latitude of members of a geospatial index", Since: "3.2.0",
			Complexity: "O(N) where N is the number of members requested.", Handler: geopos},
		{Name: "georadius", Arity: -6, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Keys: georadiusKeys(6), ACL: write, Group: g,
			Summary: "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point", Since: "3.2.0",
			Complexity: radiusCx, Handler: geoSearchCmd(geoCoords)},
		{Name: "georadiusbymember", Arity: -5, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, Keys: georadiusKeys(5), ACL: write, Group: g,
			Summary: "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member", Since: "3.2.0",
			Complexity: radiusCx, Handler: geoSearchCmd(geoMember)},
		{Name: "georadius_ro", Arity: -6, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: read, Group: g,
			Summary: "A read-only variant for GEORADIUS", Since: "3.2.10",
			Complexity: radiusCx, Handler: geoSearchCmd(geoCoords | geoNoStore)},
		{Name: "georadiusbymember_ro", Arity: -5, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: read, Group: g,
			Summary: "A read-only variant for GEORADIUSBYMEMBER", Since: "3.2.10",
			Complexity: radiusCx, Handler: geoSearchCmd(geoMember | geoNoStore)},
		{Name: "geosearch", Arity: -7, Flags: ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, ACL: read, Group: g,
			Summary: "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.", Since: "6.2.0",
			Complexity: searchCx, Handler: geoSearchCmd(geoSearch)},
		{Name: "geosearchstore", Arity: -8, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 2, Step: 1, ACL: write, Group: g,
			Summary: "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.", Since: "6.2.0",
			Complexity: searchCx, Handler: geoSearchCmd(geoSearch | geoSearchStore)},
	}
}

// georadiusKeys finds GEORADIUS's keys as Redis's georadiusGetKeys does:
// the source, and the argument after the last STORE or STOREDIST from
// index from on.
func georadiusKeys(from int) func(args [][]byte) []int {
	return func(args [][]byte) []int {
		if len(args) < 2 {
			return nil
		}
		out := []int{1}
		store := -1
		for i := from; i < len(args); i++ {
			if (Is(args[i], "store") || Is(args[i], "storedist")) && i+1 < len(args) {
				store = i + 1
				i++
			}
		}
		if store > 0 {
			out = append(out, store)
		}
		return out
	}
}

// Redis's geo error texts.
var (
	errGeoMember  = &Error{"ERR", "could not decode requested zset member"}
	errGeoUnit    = &Error{"ERR", "unsupported unit provided. please use M, KM, FT, MI"}
	errGeoRadius  = &Error{"ERR", "need numeric radius"}
	errGeoNegRad  = &Error{"ERR", "radius cannot be negative"}
	errGeoWidth   = &Error{"ERR", "need numeric width"}
	errGeoHeight  = &Error{"ERR", "need numeric height"}
	errGeoNegBox  = &Error{"ERR", "height or width cannot be negative"}
	errGeoCount   = &Error{"ERR", "COUNT must be > 0"}
	errGeoAnyCnt  = &Error{"ERR", "the ANY argument requires COUNT argument"}
	errGeoUnknown = &Error{"ERR", "Unknown georadius search type"}
)

// --- geohash.c ---

// Redis's limits of the coordinates a geo set can index (EPSG:900913).
const (
	geoLatMin  = -85.05112878
	geoLatMax  = 85.05112878
	geoLongMin = -180.0
	geoLongMax = 180.0
	// geoStepMax is the precision of stored scores: 26 bits per axis.
	geoStepMax = 26
)

type geoRange struct{ min, max float64 }

// geoHashBits is a geohash of step bits per axis, interleaved.
type geoHashBits struct {
	bits uint64
	step uint8
}

func (h geoHashBits) zero() bool { return h.bits == 0 && h.step == 0 }

type geoArea struct {
	hash      geoHashBits
	long, lat geoRange
}

var (
	geoLongRange = geoRange{geoLongMin, geoLongMax}
	geoLatRange  = geoRange{geoLatMin, geoLatMax}
)

// interleave64 puts x's bits at the even positions and y's at the odd.
func interleave64(xlo, ylo uint32) uint64 {
	b := [...]uint64{0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF}
	s := [...]uint{1, 2, 4, 8, 16}
	x, y := uint64(xlo), uint64(ylo)
	for i := 4; i >= 0; i-- {
		x = (x | (x << s[i])) & b[i]
		y = (y | (y << s[i])) & b[i]
	}
	return x | (y << 1)
}

// deinterleave64 undoes interleave64: x in the low 32 bits, y in the high.
func deinterleave64(v uint64) uint64 {
	b := [...]uint64{0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF, 0x00000000FFFFFFFF}
	s := [...]uint{0, 1, 2, 4, 8, 16}
	x, y := v, v>>1
	for i := 0; i < 6; i++ {
		x = (x | (x >> s[i])) & b[i]
		y = (y | (y >> s[i])) & b[i]
	}
	return x | (y << 32)
}

// geohashEncode is Redis's geohashEncode; ok is false out of the limits.
func geohashEncode(longR, latR geoRange, long, lat float64, step uint8) (geoHashBits, bool) {
	if step > 32 || step == 0 || (latR.min == 0 && latR.max == 0) || (longR.min == 0 && longR.max == 0) {
		return geoHashBits{}, false
	}
	if long > geoLongMax || long < geoLongMin || lat > geoLatMax || lat < geoLatMin {
		return geoHashBits{}, false
	}
	if lat < latR.min || lat > latR.max || long < longR.min || long > longR.max {
		return geoHashBits{step: step}, false
	}
	// NB: the explicit float64 conversions keep Go from fusing a multiply
	// and an add, which C as Redis is built does not do.
	latOff := float64(lat-latR.min) / float64(latR.max-latR.min)
	longOff := float64(long-longR.min) / float64(longR.max-longR.min)
	latOff = float64(latOff * float64(uint64(1)<<step))
	longOff = float64(longOff * float64(uint64(1)<<step))
	return geoHashBits{bits: interleave64(uint32(latOff), uint32(longOff)), step: step}, true
}

// geohashDecode returns the area a hash covers.
func geohashDecode(longR, latR geoRange, h geoHashBits) (geoArea, bool) {
	if h.zero() || (latR.min == 0 && latR.max == 0) || (longR.min == 0 && longR.max == 0) {
		return geoArea{}, false
	}
	sep := deinterleave64(h.bits)
	latScale := latR.max - latR.min
	longScale := longR.max - longR.min
	ilato := uint32(sep)
	ilono := uint32(sep >> 32)
	div := float64(uint64(1) << h.step)
	a := geoArea{hash: h}
	a.lat.min = latR.min + float64(float64(float64(ilato)*1.0/div)*latScale)
	a.lat.max = latR.min + float64(float64(float64(ilato+1)*1.0/div)*latScale)
	a.long.min = longR.min + float64(float64(float64(ilono)*1.0/div)*longScale)
	a.long.max = longR.min + float64(float64(float64(ilono+1)*1.0/div)*longScale)
	return a, true
}

// decodeGeohash turns a stored score into longitude and latitude, the
// centre of its cell clamped to the limits.
func decodeGeohash(score float64) (long, lat float64, ok bool) {
	a, ok := geohashDecode(geoLongRange, geoLatRange, geoHashBits{bits: uint64(score), step: geoStepMax})
	if !ok {
		return 0, 0, false
	}
	long = (a.long.min + a.long.max) / 2
	long = min(max(long, geoLongMin), geoLongMax)
	lat = (a.lat.min + a.lat.max) / 2
	lat = min(max(lat, geoLatMin), geoLatMax)
	return long, lat, true
}

// geohashMove moves h by one box along one axis: d > 0 east or north,
// d < 0 west or south. Longitude bits sit at the odd positions (mask
// 0xaaaa...), latitude bits at the even ones (0x5555...); moved is the
// mask of the axis that moves. A port of geohash.c's geohash_move_x and
// geohash_move_y, which differ only in the masks.
func geohashMove(h *geoHashBits, d int, moved uint64) {
	if d == 0 {
		return
	}
	const lonBits, latBits = 0xaaaaaaaaaaaaaaaa, 0x5555555555555555
	other := uint64(lonBits)
	if moved == lonBits {
		other = latBits
	}
	m := h.bits & moved
	rest := h.bits & other
	zz := other >> (64 - uint(h.step)*2)
	if d > 0 {
		m = m + (zz + 1)
	} else {
		m = m | zz
		m = m - (zz + 1)
	}
	m &= moved >> (64 - uint(h.step)*2)
	h.bits = m | rest
}

// geoNeighbors are the eight boxes around a hash.
type geoNeighbors struct {
	north, east, west, south, northEast, southEast, northWest, southWest geoHashBits
}

func geohashNeighbors(h geoHashBits) geoNeighbors {
	move := func(dx, dy int) geoHashBits {
		n := h
		geohashMove(&n, dx, 0xaaaaaaaaaaaaaaaa)
		geohashMove(&n, dy, 0x5555555555555555)
		return n
	}
	return geoNeighbors{
		east: move(1, 0), west: move(-1, 0), south: move(0, -1), north: move(0, 1),
		northWest: move(-1, 1), southWest: move(-1, -1), northEast: move(1, 1), southEast: move(1, -1),
	}
}

// --- geohash_helper.c ---

const (
	earthRadiusInMeters = 6372797.560856
	mercatorMax         = 20037726.37
)

// geoPi is M_PI as a double, so that geoDR is M_PI/180.0 computed in
// double arithmetic as C does, not Go's exact constant rounded once.
var (
	geoPi = math.Pi
	geoDR = geoPi / 180.0
)

func degRad(ang float64) float64 { return ang * geoDR }
func radDeg(ang float64) float64 { return ang / geoDR }

func geohashEstimateStepsByRadius(rangeMeters, lat float64) uint8 {
	if rangeMeters == 0 {
		return 26
	}
	step := 1
	for rangeMeters < mercatorMax {
		rangeMeters *= 2
		step++
	}
	step -= 2
	if lat > 66 || lat < -66 {
		step--
		if lat > 80 || lat < -80 {
			step--
		}
	}
	step = min(max(step, 1), 26)
	return uint8(step)
}

// geoShape is a search area: a circle of radius, or a box of width and
// height, in the unit conversion converts to meters, around (long, lat).
type geoShape struct {
	box           bool
	long, lat     float64
	conversion    float64
	radius        float64
	width, height float64
	bounds        [4]float64
}

func geohashBoundingBox(s *geoShape) {
	height, width := s.conversion*s.radius, s.conversion*s.radius
	if s.box {
		height = s.conversion * (s.height / 2)
		width = s.conversion * (s.width / 2)
	}
	latDelta := radDeg(height / earthRadiusInMeters)
	longDeltaTop := radDeg(width / earthRadiusInMeters / geoCos(degRad(s.lat+latDelta)))
	longDeltaBottom := radDeg(width / earthRadiusInMeters / geoCos(degRad(s.lat-latDelta)))
	if s.lat < 0 {
		s.bounds[0] = s.long - longDeltaBottom
		s.bounds[2] = s.long + longDeltaBottom
	} else {
		s.bounds[0] = s.long - longDeltaTop
		s.bounds[2] = s.long + longDeltaTop
	}
	s.bounds[1] = s.lat - latDelta
	s.bounds[3] = s.lat + latDelta
}

// geohashCalculateAreasByShape returns the centre box and its neighbours
// covering s, the useless neighbours zeroed.
func geohashCalculateAreasByShape(s *geoShape) (geoHashBits, geoNeighbors) {
	geohashBoundingBox(s)
	minLon, minLat, maxLon, maxLat := s.bounds[0], s.bounds[1], s.bounds[2], s.bounds[3]
	radiusMeters := s.radius
	if s.box {
		radiusMeters = math.Sqrt((s.width/2)*(s.width/2) + (s.height/2)*(s.height/2))
	}
	radiusMeters *= s.conversion
	steps := geohashEstimateStepsByRadius(radiusMeters, s.lat)

	hash, _ := geohashEncode(geoLongRange, geoLatRange, s.long, s.lat, steps)
	nb := geohashNeighbors(hash)
	area, _ := geohashDecode(geoLongRange, geoLatRange, hash)

	decrease := false
	north, _ := geohashDecode(geoLongRange, geoLatRange, nb.north)
	south, _ := geohashDecode(geoLongRange, geoLatRange, nb.south)
	east, _ := geohashDecode(geoLongRange, geoLatRange, nb.east)
	west, _ := geohashDecode(geoLongRange, geoLatRange, nb.west)
	if north.lat.max < maxLat || south.lat.min > minLat || east.long.max < maxLon || west.long.min > minLon {
		decrease = true
	}
	if steps > 1 && decrease {
		steps--
		hash, _ = geohashEncode(geoLongRange, geoLatRange, s.long, s.lat, steps)
		nb = geohashNeighbors(hash)
		area, _ = geohashDecode(geoLongRange, geoLatRange, hash)
	}
	if steps >= 2 {
		if area.lat.min < minLat {
			nb.south, nb.southWest, nb.southEast = geoHashBits{}, geoHashBits{}, geoHashBits{}
		}
		if area.lat.max > maxLat {
			nb.north, nb.northEast, nb.northWest = geoHashBits{}, geoHashBits{}, geoHashBits{}
		}
		if area.long.min < minLon {
			nb.west, nb.southWest, nb.northWest = geoHashBits{}, geoHashBits{}, geoHashBits{}
		}
		if area.long.max > maxLon {
			nb.east, nb.southEast, nb.northEast = geoHashBits{}, geoHashBits{}, geoHashBits{}
		}
	}
	return hash, nb
}

// geohashGetDistance is the haversine distance in meters.
func geohashGetDistance(lon1d, lat1d, lon2d, lat2d float64) float64 {
	lat1r := degRad(lat1d)
	lon1r := degRad(lon1d)
	lat2r := degRad(lat2d)
	lon2r := degRad(lon2d)
	u := geoSin((lat2r - lat1r) / 2)
	v := geoSin((lon2r - lon1r) / 2)
	a := float64(u*u) + float64(float64(float64(geoCos(lat1r)*geoCos(lat2r))*v)*v)
	return 2.0 * earthRadiusInMeters * geoAsin(math.Sqrt(a))
}

// geoWithin reports whether (long, lat) falls in s, and its distance from
// s's centre in meters.
func geoWithin(s *geoShape, long, lat float64) (float64, bool) {
	if !s.box {
		d := geohashGetDistance(s.long, s.lat, long, lat)
		return d, d <= s.radius*s.conversion
	}
	w, h := s.width*s.conversion, s.height*s.conversion
	lonDist := geohashGetDistance(long, lat, s.long, lat)
	latDist := geohashGetDistance(long, lat, long, s.lat)
	if lonDist > w/2 || latDist > h/2 {
		return 0, false
	}
	return geohashGetDistance(s.long, s.lat, long, lat), true
}

// --- geo.c ---

// geoPoint is one search result.
type geoPoint struct {
	long, lat, dist, score float64
	member                 []byte
}

// geoUnit parses a unit, returning its length in meters.
func geoUnit(u []byte) (float64, error) {
	switch {
	case Is(u, "m"):
		return 1, nil
	case Is(u, "km"):
		return 1000, nil
	case Is(u, "ft"):
		return 0.3048, nil
	case Is(u, "mi"):
		return 1609.34, nil
	}
	return 0, errGeoUnit
}

// geoLongLat parses a longitude and a latitude and checks their limits.
func geoLongLat(longArg, latArg []byte) (long, lat float64, err error) {
	if long, err = ParseFloat(longArg); err != nil {
		return 0, 0, err
	}
	if lat, err = ParseFloat(latArg); err != nil {
		return 0, 0, err
	}
	if long < geoLongMin || long > geoLongMax || lat < geoLatMin || lat > geoLatMax {
		return 0, 0, Errf("invalid longitude,latitude pair %s,%s", cFixed6(long), cFixed6(lat))
	}
	return long, lat, nil
}

// cFixed6 formats as C's "%f".
func cFixed6(f float64) string { return cFloat(f, 'f', 6) }

// cFloat formats f as C's printf does with format verb fmt and precision
// prec: infinities as "inf" and "-inf".
func cFloat(f float64, fmt byte, prec int) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, fmt, prec, 64)
}

// geoDistance formats a distance as Redis's addReplyDoubleDistance: "%.4f".
func geoDistance(d float64) string { return strconv.FormatFloat(d, 'f', 4, 64) }

// geoHuman formats a coordinate as Redis's ld2string(LD_STR_HUMAN):
// "%.17Lf" with trailing zeros and dot removed, "-0" as "0".
func geoHuman(f float64) string {
	s := strconv.FormatFloat(f, 'f', 17, 64)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// replyCoord writes a coordinate as addReplyHumanLongDouble: a bulk
// string in RESP2, a double in RESP3, both with the human text.
func replyCoord(c *Ctx, f float64) {
	s := geoHuman(f)
	if c.Out.Proto() == 3 {
		c.Out.Raw([]byte("," + s + "\r\n"))
		return
	}
	c.Out.BulkString(s)
}

func geoScore(long, lat float64) float64 {
	h, _ := geohashEncode(geoLongRange, geoLatRange, long, lat, geoStepMax)
	return float64(h.bits << (52 - uint(h.step)*2))
}

func geoadd(c *Ctx) error {
	var f zaddFlags
	i := 2
	for ; i < len(c.Args); i++ {
		a := c.Args[i]
		if Is(a, "nx") {
			f.nx = true
		} else if Is(a, "xx") {
			f.xx = true
		} else if Is(a, "ch") {
			f.ch = true
		} else {
			break
		}
	}
	n := len(c.Args) - i
	if n%3 != 0 || (f.xx && f.nx) || n == 0 {
		return ErrSyntax
	}
	pairs := make([]storage.ZEntry, 0, n/3)
	for j := i; j < len(c.Args); j += 3 {
		long, lat, err := geoLongLat(c.Args[j], c.Args[j+1])
		if err != nil {
			return err
		}
		pairs = append(pairs, storage.ZEntry{Member: c.Args[j+2], Score: geoScore(long, lat)})
	}
	return zaddApply(c, c.Args[1], f, pairs)
}

func geodist(c *Ctx) error {
	toMeter := 1.0
	if len(c.Args) == 5 {
		u, err := geoUnit(c.Args[4])
		if err != nil {
			return err
		}
		toMeter = u
	} else if len(c.Args) > 5 {
		return ErrSyntax
	}
	k, err := readZSet(c, c.Args[1])
	if err != nil {
		return err
	}
	if k == nil {
		c.Out.Null()
		return nil
	}
	s1, ok1, err := c.Tx.ZScore(k, c.Args[2])
	if err != nil {
		return err
	}
	s2, ok2, err := c.Tx.ZScore(k, c.Args[3])
	if err != nil {
		return err
	}
	if !ok1 || !ok2 {
		c.Out.Null()
		return nil
	}
	lo1, la1, ok1 := decodeGeohash(s1)
	lo2, la2, ok2 := decodeGeohash(s2)
	if !ok1 || !ok2 {
		c.Out.Null()
		return nil
	}
	c.Out.BulkString(geoDistance(geohashGetDistance(lo1, la1, lo2, la2) / toMeter))
	return nil
}

// geoEach calls fn for every member argument with its decoded position,
// ok false for a missing member.
func geoEach(c *Ctx, fn func(long, lat float64, ok bool)) error {
	k, err := readZSet(c, c.Args[1])
	if err != nil {
		return err
	}
	c.Out.Array(len(c.Args) - 2)
	for _, m := range c.Args[2:] {
		if k == nil {
			fn(0, 0, false)
			continue
		}
		s, ok, err := c.Tx.ZScore(k, m)
		if err != nil {
			return err
		}
		var long, lat float64
		if ok {
			long, lat, ok = decodeGeohash(s)
		}
		fn(long, lat, ok)
	}
	return nil
}

func geohashCmd(c *Ctx) error {
	const alphabet = "0123456789bcdefghjkmnpqrstuvwxyz"
	return geoEach(c, func(long, lat float64, ok bool) {
		if !ok {
			c.Out.Null()
			return
		}
		// NB: the stored hashes use latitudes -85..85; the standard
		// geohash string is re-encoded on -90..90.
		h, _ := geohashEncode(geoRange{-180, 180}, geoRange{-90, 90}, long, lat, 26)
		var buf [11]byte
		for i := range buf {
			idx := 0
			if i < 10 {
				idx = int((h.bits >> (52 - (uint(i)+1)*5)) & 0x1f)
			}
			buf[i] = alphabet[idx]
		}
		c.Out.Bulk(buf[:])
	})
}

func geopos(c *Ctx) error {
	return geoEach(c, func(long, lat float64, ok bool) {
		if !ok {
			c.Out.NullArray()
			return
		}
		c.Out.Array(2)
		replyCoord(c, long)
		replyCoord(c, lat)
	})
}

// Search variants, Redis's georadiusGeneric flags.
const (
	geoCoords      = 1 << iota // around coordinates (GEORADIUS)
	geoMember                  // around a member (GEORADIUSBYMEMBER)
	geoNoStore                 // no STORE/STOREDIST (the _RO forms)
	geoSearch                  // GEOSEARCH's arguments
	geoSearchStore             // GEOSEARCHSTORE
)

// geoDistanceArgs parses "<radius> <unit>".
func geoDistanceArgs(s *geoShape, radius, unit []byte) error {
	d, err := ParseFloat(radius)
	if err != nil {
		return errGeoRadius
	}
	if d < 0 {
		return errGeoNegRad
	}
	s.radius = d
	if s.conversion, err = geoUnit(unit); err != nil {
		return err
	}
	return nil
}

// geoSearchCmd is Redis 7.0's georadiusGeneric: it parses in Redis's
// order, so the first error Redis would report is the one reported.
func geoSearchCmd(flags int) func(c *Ctx) error {
	return func(c *Ctx) error {
		if c.Cmd != nil && c.Cmd.Flags.Has(Write) {
			var names [][]byte
			for _, i := range c.Cmd.KeyPositions(c.Args) {
				names = append(names, c.Args[i])
			}
			c.Tx.Lock(c.DB(), names...)
		}
		src := c.Args[1]
		if flags&geoSearchStore != 0 {
			src = c.Args[2]
		}
		k, err := readZSet(c, src)
		if err != nil {
			return err
		}
		var storeKey []byte
		storeDist := false
		var shape geoShape
		var base int
		switch {
		case flags&geoCoords != 0:
			base = 6
			if shape.long, shape.lat, err = geoLongLat(c.Args[2], c.Args[3]); err != nil {
				return err
			}
			if err := geoDistanceArgs(&shape, c.Args[4], c.Args[5]); err != nil {
				return err
			}
		case flags&geoMember != 0 && k == nil:
			base = 5
		case flags&geoMember != 0:
			base = 5
			if shape.long, shape.lat, err = geoFromMember(c, k, c.Args[2]); err != nil {
				return err
			}
			if err := geoDistanceArgs(&shape, c.Args[3], c.Args[4]); err != nil {
				return err
			}
		case flags&geoSearch != 0:
			base = 2
			if flags&geoSearchStore != 0 {
				base = 3
				storeKey = c.Args[1]
			}
		default:
			return errGeoUnknown
		}

		var withDist, withHash, withCoord, fromMember, fromLoc, byRadius, byBox, any bool
		sort := 0 // 1 ascending, -1 descending
		var count int64
		rest := c.Args[base:]
		for i := 0; i < len(rest); i++ {
			a := rest[i]
			left := len(rest) - i - 1
			switch {
			case Is(a, "withdist"):
				withDist = true
			case Is(a, "withhash"):
				withHash = true
			case Is(a, "withcoord"):
				withCoord = true
			case Is(a, "any"):
				any = true
			case Is(a, "asc"):
				sort = 1
			case Is(a, "desc"):
				sort = -1
			case Is(a, "count") && left >= 1:
				if count, err = ParseInt(rest[i+1]); err != nil {
					return err
				}
				if count <= 0 {
					return errGeoCount
				}
				i++
			case Is(a, "store") && left >= 1 && flags&(geoNoStore|geoSearch) == 0:
				storeKey, storeDist = rest[i+1], false
				i++
			case Is(a, "storedist") && left >= 1 && flags&(geoNoStore|geoSearch) == 0:
				storeKey, storeDist = rest[i+1], true
				i++
			case Is(a, "storedist") && flags&geoSearch != 0 && flags&geoSearchStore != 0:
				storeDist = true
			case Is(a, "frommember") && left >= 1 && flags&geoSearch != 0 && !fromLoc:
				if k != nil {
					if shape.long, shape.lat, err = geoFromMember(c, k, rest[i+1]); err != nil {
						return err
					}
				}
				fromMember = true
				i++
			case Is(a, "fromlonlat") && left >= 2 && flags&geoSearch != 0 && !fromMember:
				if shape.long, shape.lat, err = geoLongLat(rest[i+1], rest[i+2]); err != nil {
					return err
				}
				fromLoc = true
				i += 2
			case Is(a, "byradius") && left >= 2 && flags&geoSearch != 0 && !byBox:
				if err := geoDistanceArgs(&shape, rest[i+1], rest[i+2]); err != nil {
					return err
				}
				shape.box = false
				byRadius = true
				i += 2
			case Is(a, "bybox") && left >= 3 && flags&geoSearch != 0 && !byRadius:
				w, err := ParseFloat(rest[i+1])
				if err != nil {
					return errGeoWidth
				}
				h, err := ParseFloat(rest[i+2])
				if err != nil {
					return errGeoHeight
				}
				if h < 0 || w < 0 {
					return errGeoNegBox
				}
				shape.width, shape.height = w, h
				if shape.conversion, err = geoUnit(rest[i+3]); err != nil {
					return err
				}
				shape.box = true
				byBox = true
				i += 3
			default:
				return ErrSyntax
			}
		}

		if storeKey != nil && (withDist || withHash || withCoord) {
			what := "STORE option in GEORADIUS"
			if flags&geoSearchStore != 0 {
				what = "GEOSEARCHSTORE"
			}
			return Errf("%s is not compatible with WITHDIST, WITHHASH and WITHCOORD options", what)
		}
		if flags&geoSearch != 0 && !(fromMember || fromLoc) {
			return Errf("exactly one of FROMMEMBER or FROMLONLAT can be specified for %s", c.Args[0])
		}
		if flags&geoSearch != 0 && !(byRadius || byBox) {
			return Errf("exactly one of BYRADIUS and BYBOX can be specified for %s", c.Args[0])
		}
		if any && count == 0 {
			return errGeoAnyCnt
		}

		if k == nil {
			if storeKey != nil {
				dst, err := c.Tx.Lookup(c.DB(), storeKey)
				if err != nil {
					return err
				}
				if dst.Live {
					c.Tx.Delete(dst)
					c.Notify(NotifyGeneric, "del", storeKey)
				}
				c.Out.Int(0)
			} else {
				c.Out.Array(0)
			}
			return nil
		}

		if count != 0 && sort == 0 && !any {
			sort = 1
		}
		limit := int64(0)
		if any {
			limit = count
		}
		points, err := geoMembersOfAllNeighbors(c, k, &shape, limit)
		if err != nil {
			return err
		}
		if len(points) == 0 && storeKey == nil {
			c.Out.Array(0)
			return nil
		}
		returned := int64(len(points))
		if count != 0 && count < returned {
			returned = count
		}
		// NB: Redis sorts with qsort (a full sort) or pqsort (a partial
		// one when COUNT cuts the result); a stable sort gives the same
		// order except, possibly, among points at the same distance.
		switch sort {
		case 1:
			slices.SortStableFunc(points, func(a, b geoPoint) int { return cmpFloat(a.dist, b.dist) })
		case -1:
			slices.SortStableFunc(points, func(a, b geoPoint) int { return cmpFloat(b.dist, a.dist) })
		}
		points = points[:returned]

		if storeKey == nil {
			opts := 0
			for _, on := range []bool{withDist, withCoord, withHash} {
				if on {
					opts++
				}
			}
			c.Out.Array(len(points))
			for _, p := range points {
				if opts > 0 {
					c.Out.Array(opts + 1)
				}
				c.Out.Bulk(p.member)
				if withDist {
					c.Out.BulkString(geoDistance(p.dist / shape.conversion))
				}
				if withHash {
					c.Out.Int(int64(p.score))
				}
				if withCoord {
					c.Out.Array(2)
					replyCoord(c, p.long)
					replyCoord(c, p.lat)
				}
			}
			return nil
		}
		es := make([]storage.ZEntry, len(points))
		for i, p := range points {
			s := p.score
			if storeDist {
				s = p.dist / shape.conversion
			}
			es[i] = storage.ZEntry{Member: p.member, Score: s}
		}
		dst, err := c.Tx.Lookup(c.DB(), storeKey)
		if err != nil {
			return err
		}
		had := dst.Live
		if len(es) > 0 || had {
			c.Tx.ZStore(dst, es)
		}
		ev := "georadiusstore"
		if flags&geoSearch != 0 {
			ev = "geosearchstore"
		}
		c.notifyStored(NotifyZset, ev, storeKey, len(es) > 0, had)
		c.Out.Int(int64(len(es)))
		return nil
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a > b:
		return 1
	case a < b:
		return -1
	}
	return 0
}

// geoFromMember decodes member's position, or errGeoMember.
func geoFromMember(c *Ctx, k *storage.Key, member []byte) (long, lat float64, err error) {
	s, ok, err := c.Tx.ZScore(k, member)
	if err != nil {
		return 0, 0, err
	}
	if ok {
		if long, lat, ok = decodeGeohash(s); ok {
			return long, lat, nil
		}
	}
	return 0, 0, errGeoMember
}

// geoMembersOfAllNeighbors is Redis's membersOfAllNeighbors: it scans the
// centre box and its neighbours (skipping zeroed ones and one equal to the
// box scanned just before) and keeps the members inside s; with limit > 0
// (ANY) it stops once it has limit of them.
func geoMembersOfAllNeighbors(c *Ctx, k *storage.Key, s *geoShape, limit int64) ([]geoPoint, error) {
	hash, nb := geohashCalculateAreasByShape(s)
	boxes := [9]geoHashBits{hash, nb.north, nb.south, nb.east, nb.west, nb.northEast, nb.northWest, nb.southEast, nb.southWest}
	var out []geoPoint
	last := 0
	for i, b := range boxes {
		if b.zero() {
			continue
		}
		if last != 0 && b == boxes[last] {
			continue
		}
		if len(out) > 0 && limit > 0 && int64(len(out)) >= limit {
			break
		}
		// The box's scores are its hash padded to 52 bits, up to (and
		// excluding) the next hash's.
		shift := 52 - uint(b.step)*2
		r := storage.ScoreRange{Min: float64(b.bits << shift), Max: float64((b.bits + 1) << shift), MaxEx: true}
		err := c.Tx.ZWalkScore(k, r, false, func(m []byte, score float64) bool {
			long, lat, ok := decodeGeohash(score)
			if !ok {
				return true
			}
			d, in := geoWithin(s, long, lat)
			if !in {
				return true
			}
			out = append(out, geoPoint{long: long, lat: lat, dist: d, score: score, member: bytes.Clone(m)})
			return !(limit > 0 && int64(len(out)) >= limit)
		})
		if err != nil {
			return nil, err
		}
		last = i
	}
	return out, nil
}

// --- libm ---
//
// Redis calls the C library's sin, cos and asin. Go's math.Sin, Cos and
// Asin are often one unit in the last place off (a third of the inputs
// near the geo code's), which shows in the last digits of STOREDIST
// scores. These compute in double-double arithmetic (about 106 bits) and
// round once, so they return the correctly rounded result; glibc 2.36,
// checked against 300,000 inputs, returns it for all but about one input
// in a thousand, where it is one unit off and these differ from it.

// dd is an unevaluated sum hi+lo with |lo| <= ulp(hi)/2.
type dd struct{ hi, lo float64 }

func twoSum(a, b float64) dd {
	s := a + b
	bb := s - a
	return dd{s, (a - (s - bb)) + (b - bb)}
}

func quickTwoSum(a, b float64) dd {
	s := a + b
	return dd{s, b - (s - a)}
}

func twoProd(a, b float64) dd {
	p := a * b
	return dd{p, math.FMA(a, b, -p)}
}

func (a dd) add(b dd) dd {
	s := twoSum(a.hi, b.hi)
	t := twoSum(a.lo, b.lo)
	s.lo += t.hi
	s = quickTwoSum(s.hi, s.lo)
	s.lo += t.lo
	return quickTwoSum(s.hi, s.lo)
}

func (a dd) neg() dd { return dd{-a.hi, -a.lo} }

func (a dd) mul(b dd) dd {
	p := twoProd(a.hi, b.hi)
	p.lo += a.hi*b.lo + a.lo*b.hi
	return quickTwoSum(p.hi, p.lo)
}

func (a dd) div(b dd) dd {
	q1 := a.hi / b.hi
	r := a.add(b.mul(dd{q1, 0}).neg())
	q2 := r.hi / b.hi
	r = r.add(b.mul(dd{q2, 0}).neg())
	q3 := r.hi / b.hi
	q := quickTwoSum(q1, q2)
	return q.add(dd{q3, 0})
}

// ddHalfPi is π/2 to about 160 bits, in three parts.
var ddHalfPi = [3]float64{1.5707963267948966, 6.123233995736766e-17, -1.4973849048591698e-33}

// ddSinCoef[k] is (-1)^k/(2k+1)! and ddCosCoef[k] is (-1)^k/(2k)!, in
// double-double.
var ddSinCoef, ddCosCoef = func() (sc, cc [16]dd) {
	f := dd{1, 0} // 1/n!
	for n := 0; n < 32; n++ {
		if n > 0 {
			f = f.div(dd{float64(n), 0})
		}
		t := f
		if (n/2)%2 == 1 {
			t = t.neg()
		}
		if n%2 == 0 {
			cc[n/2] = t
		} else {
			sc[n/2] = t
		}
	}
	return sc, cc
}()

// ddSinCos returns sin and cos of x for |x| < 2^20 or so, the whole range
// the geo code can reach.
func ddSinCos(x float64) (sin, cos dd) {
	k := math.Round(x / ddHalfPi[0])
	// r = x - k·π/2, each product exact or double-double.
	r := dd{x, 0}
	for _, p := range ddHalfPi {
		r = r.add(twoProd(k, p).neg())
	}
	// Taylor series of sin and cos at r, |r| <= π/4 (a bit more when k
	// rounds at the edge), by Horner's rule: the terms left out are below
	// 2^-110.
	r2 := r.mul(r)
	s := ddSinCoef[len(ddSinCoef)-1]
	for i := len(ddSinCoef) - 2; i >= 0; i-- {
		s = s.mul(r2).add(ddSinCoef[i])
	}
	s = s.mul(r)
	c := ddCosCoef[len(ddCosCoef)-1]
	for i := len(ddCosCoef) - 2; i >= 0; i-- {
		c = c.mul(r2).add(ddCosCoef[i])
	}
	switch int64(k) & 3 {
	case 0:
		return s, c
	case 1:
		return c, s.neg()
	case 2:
		return s.neg(), c.neg()
	default:
		return c.neg(), s
	}
}

// geoSin and geoCos are sin and cos rounded to the nearest double.
func geoSin(x float64) float64 {
	if x == 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return math.Sin(x)
	}
	s, _ := ddSinCos(x)
	return s.hi + s.lo
}

func geoCos(x float64) float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return math.Cos(x)
	}
	_, c := ddSinCos(x)
	return c.hi + c.lo
}

// geoAsin is asin rounded to the nearest double: Newton steps on sin
// from math.Asin's estimate, in double-double.
func geoAsin(x float64) float64 {
	if x == 0 || math.IsNaN(x) || x >= 1 || x <= -1 || math.Abs(x) > 0.999999 {
		return math.Asin(x)
	}
	y := dd{math.Asin(x), 0}
	for i := 0; i < 2; i++ {
		s, c := ddSinCos(y.hi)
		// sin and cos at y.hi; correct for y.lo to first order.
		s = s.add(c.mul(dd{y.lo, 0}))
		c = c.add(s.mul(dd{y.lo, 0}).neg())
		y = y.add(s.add(dd{-x, 0}).div(c).neg())
	}
	return y.hi + y.lo
}
