package commands

import (
	"math"
	"math/rand/v2"
	"strings"
)

// RedisVersion is the Redis version whose commands and replies Shoal
// follows; INFO and HELLO report it as redis_version so clients enable the
// features they would with that Redis, and LOLWUT signs with it.
const RedisVersion = "7.2.4"

// lolwutCommand is LOLWUT [VERSION v] [args]: Redis 5's Schotter for
// version 5, Redis 6's skyline for version 6, and for any other the
// version line Redis 7 prints.
func lolwutCommand() *Command {
	return &Command{Name: "lolwut", Arity: -1, Flags: ReadOnly | Fast, ACL: []string{"read", "fast"}, Group: "server",
		Summary: "Display some computer art and the Redis version", Since: "5.0.0",
		Handler: lolwut}
}

func lolwut(c *Ctx) error {
	args := c.Args[1:]
	version := int64(7)
	if len(args) >= 2 && Is(args[0], "version") {
		v, err := ParseInt(args[1])
		if err != nil {
			return err
		}
		version, args = int64(uint32(v)), args[2:]
	}
	var art string
	switch version {
	case 5:
		n, err := lolwutArgs(args, [][2]int64{{66, 1000}, {8, 200}, {12, 200}})
		if err != nil {
			return err
		}
		art = schotter(n[0], n[1], n[2]).braille() +
			"\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. "
	case 6:
		n, err := lolwutArgs(args, [][2]int64{{80, 1000}, {20, 1000}})
		if err != nil {
			return err
		}
		art = skyline(n[0], n[1]).grays() +
			"\nDedicated to the 8 bit game developers of past and present.\n" +
			"Original 8 bit image from Plaguemon by hikikomori. Redis ver. "
	default:
		art = "Redis ver. "
	}
	c.Out.Verbatim("txt", art+RedisVersion+"\n")
	return nil
}

// lolwutArgs reads a drawing's numeric arguments, each given as its
// default and its upper bound: in order, each read and then clamped to
// [1, bound], as Redis reads them.
func lolwutArgs(args [][]byte, spec [][2]int64) ([]int, error) {
	out := make([]int, len(spec))
	for i, sp := range spec {
		n := sp[0]
		if i < len(args) {
			v, err := ParseInt(args[i])
			if err != nil {
				return nil, err
			}
			n = min(max(v, 1), sp[1])
		}
		out[i] = int(n)
	}
	return out, nil
}

// canvas is LOLWUT's: a pixel a byte, drawing outside it ignored.
type canvas struct {
	w, h int
	px   []byte
}

func newCanvas(w, h int, bg byte) *canvas {
	cv := &canvas{w: w, h: h, px: make([]byte, w*h)}
	for i := range cv.px {
		cv.px[i] = bg
	}
	return cv
}

func (cv *canvas) set(x, y int, color byte) {
	if x >= 0 && x < cv.w && y >= 0 && y < cv.h {
		cv.px[x+y*cv.w] = color
	}
}

func (cv *canvas) get(x, y int) byte {
	if x >= 0 && x < cv.w && y >= 0 && y < cv.h {
		return cv.px[x+y*cv.w]
	}
	return 0
}

// line draws from x1,y1 to x2,y2 by Bresenham's algorithm.
func (cv *canvas) line(x1, y1, x2, y2 int, color byte) {
	dx, dy := abs(x2-x1), abs(y2-y1)
	sx, sy := -1, -1
	if x1 < x2 {
		sx = 1
	}
	if y1 < y2 {
		sy = 1
	}
	err := dx - dy
	for {
		cv.set(x1, y1, color)
		if x1 == x2 && y1 == y2 {
			return
		}
		e2 := err * 2
		if e2 > -dy {
			err -= dy
			x1 += sx
		}
		if e2 < dx {
			err += dx
			y1 += sy
		}
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// square draws a square centred at x,y, turned by angle, its corners on
// the circle of its size. Redis computes it in C floats: so does this,
// so that the same arguments draw the same pixels.
func (cv *canvas) square(x, y int, size, angle float32, color byte) {
	size = float32(math.Round(float64(float32(float64(size) / 1.4142135623))))
	k := float32(math.Pi/4 + float64(angle))
	var px, py [4]int
	for j := range 4 {
		px[j] = int(math.Round(math.Sin(float64(k))*float64(size) + float64(x)))
		py[j] = int(math.Round(math.Cos(float64(k))*float64(size) + float64(y)))
		k = float32(float64(k) + math.Pi/2)
	}
	for j := range 4 {
		cv.line(px[j], py[j], px[(j+1)%4], py[(j+1)%4], color)
	}
}

// randMax is C's RAND_MAX, which LOLWUT's chances are scaled by.
const randMax = 1<<31 - 1

func crand() int { return rand.IntN(randMax + 1) }

// schotter is Georg Nees's Schotter as Redis 5's LOLWUT draws it: rows
// of squares that turn and move more the lower they are.
func schotter(cols, perRow, perCol int) *canvas {
	w := cols * 2
	pad := 0
	if w > 4 {
		pad = 2
	}
	side := float32(w-pad*2) / float32(perRow)
	cv := newCanvas(w, int(side*float32(perCol)+float32(pad*2)), 0)
	for y := range perCol {
		for x := range perRow {
			sx := int(float32(x)*side + side/2 + float32(pad))
			sy := int(float32(y)*side + side/2 + float32(pad))
			var angle float32
			if y > 1 {
				r := func() float32 { return float32(crand()) / float32(randMax) / float32(perCol) * float32(y) }
				r1, r2, r3 := r(), r(), r()
				if crand()%2 == 1 {
					r1 = -r1
				}
				if crand()%2 == 1 {
					r2 = -r2
				}
				if crand()%2 == 1 {
					r3 = -r3
				}
				angle = r1
				sx = int(float32(sx) + r2*side/3)
				sy = int(float32(sy) + r3*side/3)
			}
			cv.square(sx, sy, side, angle, 1)
		}
	}
	return cv
}

// braille renders the canvas two pixels wide and four tall a character,
// in Unicode's Braille patterns, dots numbered as Braille numbers them.
func (cv *canvas) braille() string {
	var b strings.Builder
	dots := [8][2]int{{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1}, {1, 2}, {0, 3}, {1, 3}}
	for y := 0; y < cv.h; y += 4 {
		for x := 0; x < cv.w; x += 2 {
			var bits rune
			for i, d := range dots {
				if cv.get(x+d[0], y+d[1]) != 0 {
					bits |= 1 << i
				}
			}
			b.WriteRune(0x2800 + bits)
		}
		if y != cv.h-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// skyscraper is one building of Redis 6's skyline.
type skyscraper struct {
	xoff, width, height int
	windows             bool
	color               byte
}

func (cv *canvas) skyscraper(s skyscraper) {
	start := cv.h - 1
	end := start - s.height + 1
	for y := start; y >= end; y-- {
		for x := s.xoff; x < s.xoff+s.width; x++ {
			if y == end && (x <= s.xoff+1 || x >= s.xoff+s.width-2) {
				continue // the roof is four pixels narrower
			}
			color := s.color
			if s.windows && x > s.xoff+1 && x < s.xoff+s.width-2 && y > end+1 && y < start-1 {
				relx, rely := x-(s.xoff+1), y-(end+1)
				if relx/2%2 != 0 && rely%2 != 0 {
					for color == s.color {
						color = byte(1 + crand()%2)
					}
					if relx%2 != 0 {
						color = cv.get(x-1, y) // a window is two pixels wide
					}
				}
			}
			cv.set(x, y, color)
		}
	}
}

// skyline is Redis 6's LOLWUT: two rows of gray buildings behind a row
// of black ones with lit windows, after Plaguemon's parallax.
func skyline(cols, rows int) *canvas {
	cv := newCanvas(cols, rows, 3)
	for color := byte(2); color >= 1; color-- {
		for off := -10; off < cv.w; {
			off += crand() % 8
			s := skyscraper{xoff: off, width: 10 + crand()%9, color: color}
			if color == 2 {
				s.height = cv.h/2 + crand()%cv.h/2
			} else {
				s.height = cv.h/2 + crand()%cv.h/3
			}
			cv.skyscraper(s)
			if color == 2 {
				off += s.width / 2
			} else {
				off += s.width + 1
			}
		}
	}
	for off := -10; off < cv.w; {
		off += crand() % 8
		s := skyscraper{xoff: off, width: 5 + crand()%14, windows: true}
		if s.width%4 != 0 {
			s.width += s.width % 3
		}
		s.height = cv.h/3 + crand()%cv.h/2
		cv.skyscraper(s)
		off += s.width + 5
	}
	return cv
}

// grays renders the canvas a pixel a character, in the four grays of a
// color terminal, foreground and background alike.
func (cv *canvas) grays() string {
	var b strings.Builder
	codes := [4]string{"0;30;40m", "0;90;100m", "0;37;47m", "0;97;107m"}
	for y := range cv.h {
		for x := range cv.w {
			b.WriteString("\033[" + codes[cv.get(x, y)&3] + " \033[0m")
		}
		if y != cv.h-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}
