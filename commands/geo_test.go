package commands_test

import (
	"flag"
	"strings"
	"testing"
)

// geoRecord names a running redis-server 7.0.15 to record
// testdata/geo.golden from. The golden file is only ever written from a
// real Redis, never from Shoal's replies:
//
//	redis-server --port 16399 --save '' &
//	go test ./commands -run TestGeoGolden -geo-record 127.0.0.1:16399
var geoRecord = flag.String("geo-record", "", "address of a redis-server 7.0.15 to record testdata/geo.golden from (it is flushed)")

const geoGolden = "testdata/geo.golden"

// geoScript is the transcript TestGeoGolden runs, one command a line,
// arguments split on spaces. It starts from an empty database.
var geoScript = []string{
	// GEOADD and its options.
	"GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
	"GEOADD Sicily 15.554 38.1937 Messina 15.2866 37.0755 Syracuse 13.5765 37.3111 Agrigento 12.5136 38.0176 Trapani",
	"GEOADD Sicily 12.758489 38.788135 edge1 17.241510 38.788135 edge2",
	"GEOADD Italy 12.496366 41.902782 Rome 14.268124 40.851775 Naples 9.189982 45.464204 Milan 11.255814 43.769562 Florence",
	"ZRANGE Sicily 0 -1 WITHSCORES",
	"GEOADD Sicily NX 13.361389 38.115556 Palermo 14.0 38.0 Cefalu",
	"GEOADD Sicily XX 13.5 38.0 Cefalu 1 1 Nowhere",
	"GEOADD Sicily XX CH 14.0153 38.0386 Cefalu",
	"GEOADD Sicily CH NX 14.0153 38.0386 Cefalu 14.9 37.0 Noto",
	"GEOADD Sicily CH 14.0153 38.0386 Cefalu",
	"ZSCORE Sicily Cefalu",
	"ZSCORE Sicily Nowhere",
	"GEOADD Sicily NX XX 1 1 a",
	"GEOADD Sicily 1 1",
	"GEOADD Sicily 1 1 a 2",
	"GEOADD Sicily NX CH 1 1",
	"GEOADD Sicily 181 0 bad",
	"GEOADD Sicily 0 85.06 bad",
	"GEOADD Sicily -180.5 -90 bad",
	"GEOADD Sicily abc 0 bad",
	"GEOADD Sicily 0 abc bad",
	"GEOADD Sicily 1 1 good 181 0 bad",
	"EXISTS good",
	"GEOADD edges 180 85.05112878 ne -180 -85.05112878 sw 0 0 origin -0.0001 0.0001 nw",
	"GEOPOS edges ne sw origin nw",
	"GEOHASH edges ne sw origin nw",
	// GEODIST.
	"GEODIST Sicily Palermo Catania",
	"GEODIST Sicily Palermo Catania m",
	"GEODIST Sicily Palermo Catania km",
	"GEODIST Sicily Palermo Catania KM",
	"GEODIST Sicily Palermo Catania ft",
	"GEODIST Sicily Palermo Catania mi",
	"GEODIST Sicily Palermo Palermo",
	"GEODIST Sicily Palermo Nowhere",
	"GEODIST nosuch a b",
	"GEODIST Sicily Palermo Catania yards",
	"GEODIST Sicily Palermo Catania km extra",
	"GEODIST Italy Rome Milan km",
	"GEODIST edges ne sw",
	// GEOHASH and GEOPOS.
	"GEOHASH Sicily Palermo Catania Nowhere edge1",
	"GEOHASH nosuch a b",
	"GEOPOS Sicily Palermo Catania Nowhere Cefalu",
	"GEOPOS nosuch a",
	"GEOPOS Italy Rome Naples Milan Florence",
	// GEORADIUS family.
	"GEORADIUS Sicily 15 37 200 km",
	"GEORADIUS Sicily 15 37 200 km ASC",
	"GEORADIUS Sicily 15 37 200 km DESC",
	"GEORADIUS Sicily 15 37 200 km WITHDIST",
	"GEORADIUS Sicily 15 37 200 km WITHCOORD WITHDIST WITHHASH ASC",
	"GEORADIUS Sicily 15 37 200 km WITHHASH",
	"GEORADIUS Sicily 15 37 200000 m WITHDIST ASC",
	"GEORADIUS Sicily 15 37 124 mi WITHDIST DESC",
	"GEORADIUS Sicily 15 37 656000 ft WITHDIST ASC",
	"GEORADIUS Sicily 15 37 200 km COUNT 3",
	"GEORADIUS Sicily 15 37 200 km COUNT 3 DESC WITHDIST",
	"GEORADIUS Sicily 15 37 200 km COUNT 2 ANY",
	"GEORADIUS Sicily 15 37 200 km COUNT 2 ANY ASC",
	"GEORADIUS Sicily 15 37 200 km COUNT 100",
	"GEORADIUS Sicily 15 37 1 km",
	"GEORADIUS Sicily 15 37 0 km",
	"GEORADIUS Sicily 15 37 5000 km",
	"GEORADIUS Sicily 15 37 5000 km ASC WITHDIST",
	"GEORADIUS Sicily 13.361389 38.115556 0 m",
	"GEORADIUS Sicily 15 37 200 km ANY",
	"GEORADIUS Sicily 15 37 200 km COUNT 0",
	"GEORADIUS Sicily 15 37 200 km COUNT -1",
	"GEORADIUS Sicily 15 37 200 km COUNT x",
	"GEORADIUS Sicily 15 37 200 km COUNT",
	"GEORADIUS Sicily 15 37 200 km BOGUS",
	"GEORADIUS Sicily 15 37 -1 km",
	"GEORADIUS Sicily 15 37 x km",
	"GEORADIUS Sicily 15 37 200 yards",
	"GEORADIUS Sicily 200 37 200 km",
	"GEORADIUS Sicily 15 37 200 km STORE dst WITHDIST",
	"GEORADIUS Sicily 15 37 200 km FROMLONLAT 15 37",
	"GEORADIUS nosuch 15 37 200 km",
	"GEORADIUS nosuch 15 37 200 km WITHDIST",
	"GEORADIUS Sicily 15 37 200 km STORE dst",
	"ZRANGE dst 0 -1 WITHSCORES",
	"GEORADIUS Sicily 15 37 200 km STOREDIST dst2 COUNT 2",
	"ZRANGE dst2 0 -1 WITHSCORES",
	"GEORADIUS Sicily 15 37 200 km STOREDIST dst2 STORE dst3",
	"ZRANGE dst3 0 -1 WITHSCORES",
	"EXISTS dst2",
	"GEORADIUS Sicily 15 37 1 m STORE dst",
	"EXISTS dst",
	"GEORADIUS nosuch 15 37 200 km STORE dst3",
	"EXISTS dst3",
	"GEORADIUS_RO Sicily 15 37 200 km WITHDIST ASC",
	"GEORADIUS_RO Sicily 15 37 200 km STORE dst",
	"GEORADIUSBYMEMBER Sicily Palermo 150 km WITHDIST ASC",
	"GEORADIUSBYMEMBER Sicily Palermo 150 km WITHCOORD DESC COUNT 2",
	"GEORADIUSBYMEMBER Sicily Nowhere 150 km",
	"GEORADIUSBYMEMBER nosuch Palermo 150 km",
	"GEORADIUSBYMEMBER nosuch Palermo x yards BOGUS",
	"GEORADIUSBYMEMBER Sicily Palermo 150 km STOREDIST dst",
	"ZRANGE dst 0 -1 WITHSCORES",
	"GEORADIUSBYMEMBER_RO Sicily Catania 100 km WITHDIST ASC",
	"GEORADIUSBYMEMBER_RO Sicily Catania 100 km STOREDIST dst",
	"GEORADIUS Italy 12 42 500 km WITHDIST ASC",
	"GEORADIUS edges 0 0 1000 km WITHDIST WITHCOORD",
	"GEORADIUS edges 179 85 500 km WITHDIST WITHCOORD",
	// GEOSEARCH and GEOSEARCHSTORE.
	"GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC",
	"GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHCOORD WITHDIST WITHHASH DESC",
	"GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 150 km WITHDIST",
	"GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHCOORD WITHDIST",
	"GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km",
	"GEOSEARCH Sicily FROMMEMBER Catania BYBOX 300 100 km WITHDIST ASC",
	"GEOSEARCH Sicily FROMMEMBER Catania BYBOX 100 300 km WITHDIST ASC",
	"GEOSEARCH Sicily FROMMEMBER Catania BYBOX 200 200 mi WITHDIST DESC COUNT 3",
	"GEOSEARCH Sicily FROMMEMBER Catania BYBOX 200 200 mi COUNT 3 ANY",
	"GEOSEARCH Sicily FROMMEMBER Catania BYRADIUS 1000000 ft COUNT 4 ASC WITHHASH",
	"GEOSEARCH Sicily FROMMEMBER Nowhere BYRADIUS 10 km",
	"GEOSEARCH Sicily FROMMEMBER Nowhere BYRADIUS 10 km BOGUS",
	"GEOSEARCH nosuch FROMMEMBER Nowhere BYRADIUS 10 km",
	"GEOSEARCH Sicily FROMMEMBER Palermo FROMLONLAT 15 37 BYRADIUS 10 km",
	"GEOSEARCH Sicily FROMLONLAT 15 37 FROMMEMBER Palermo BYRADIUS 10 km",
	"GEOSEARCH Sicily BYRADIUS 10 km ASC",
	"GEOSEARCH Sicily FROMLONLAT 15 37 ASC",
	"GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 10 km BYBOX 1 1 km",
	"GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX -1 1 km",
	"GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX x 1 km",
	"GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 x km",
	"GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 yards",
	"GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS -3 km",
	"GEOSEARCH Sicily FROMLONLAT 15 95 BYRADIUS 3 km",
	"GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE dst",
	"GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST",
	"GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ANY",
	"GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 0",
	"GEOSEARCH Italy FROMLONLAT 12 43 BYBOX 1000 600 km WITHDIST ASC",
	"GEOSEARCH edges FROMLONLAT 0 0 BYBOX 100 100 km WITHCOORD",
	"GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC COUNT 3",
	"ZRANGE dst 0 -1 WITHSCORES",
	"GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 km STOREDIST",
	"ZRANGE dst 0 -1 WITHSCORES",
	"GEOSEARCHSTORE dst Sicily FROMMEMBER Palermo BYRADIUS 100 mi DESC STOREDIST",
	"ZRANGE dst 0 -1 WITHSCORES",
	"GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST",
	"GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE x",
	"GEOSEARCHSTORE dst Sicily FROMLONLAT 0 0 BYRADIUS 1 km",
	"EXISTS dst",
	"GEOSEARCHSTORE Sicily Sicily FROMMEMBER Palermo BYRADIUS 100 km STOREDIST",
	"ZRANGE Sicily 0 -1 WITHSCORES",
	"GEOSEARCHSTORE dst nosuch FROMMEMBER Palermo BYRADIUS 100 km",
	// Wrong types and arities.
	"SET str x",
	"GEOADD str 1 1 a",
	"GEODIST str a b",
	"GEOHASH str a",
	"GEOPOS str a",
	"GEORADIUS str 15 37 200 km",
	"GEORADIUSBYMEMBER str a 200 km",
	"GEOSEARCH str FROMLONLAT 15 37 BYRADIUS 200 km",
	"GEOSEARCHSTORE dst str FROMLONLAT 15 37 BYRADIUS 200 km",
	"GEOSEARCHSTORE str Italy FROMLONLAT 12 42 BYRADIUS 200 km",
	"TYPE str",
	"GEORADIUS Italy 12 42 500 km STORE str",
	"TYPE str",
	"GEOADD k 1 1",
	"GEODIST k a",
	"GEOHASH",
	"GEOPOS",
	"GEORADIUS k 1 1 1",
	"GEORADIUSBYMEMBER k a 1",
	"GEOSEARCH k FROMLONLAT 1 1 BYRADIUS",
	"GEOSEARCHSTORE d k FROMLONLAT 1 1 BYRADIUS",
}

var geoTranscript = &transcript{
	name: "geoScript (geo_test.go)", golden: geoGolden, flag: "geo-record", script: geoScript,
	tolerate: func(t *testing.T, i int, line, got, want string, proto int) bool {
		if proto != 2 || !strings.HasPrefix(line, "ZRANGE ") || shortestNumbers(got) != shortestNumbers(want) {
			return false
		}
		// NB: Redis 7.0 writes RESP2 scores with "%.17g"
		// (26.795539305873376 but 8.8828389683151912);
		// Shoal's sorted-set replies write the shortest text
		// of the same double. That is a difference of the
		// sorted-set replies, not of geo: here the values
		// must be equal, and are.
		t.Logf("%d: %s: same scores, printed differently:\n shoal %s\n redis %s", i, line, got, want)
		return true
	},
}

// TestGeoGolden runs geoScript against Shoal over RESP2 and RESP3 and
// compares every reply with the one redis-server 7.0.15 gave, recorded in
// testdata/geo.golden.
func TestGeoGolden(t *testing.T) { geoTranscript.check(t, *geoRecord) }
