// Drives a server with ioredis as a Node program would, over RESP2 (ioredis
// sends no HELLO), and prints one JSON line per step: the same program
// against redis-server 7.0.15 and against Shoal must print the same lines.
// Usage: node ioredis.js host port
'use strict';
const Redis = require('ioredis');

const [host, port] = [process.argv[2], Number(process.argv[3])];
const opts = { host, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null };
const out = (step, v) => process.stdout.write(JSON.stringify([step, v]) + '\n');
const sorted = (a) => [...a].sort();
// results turns a pipeline's or EXEC's [error, value] pairs into JSON.
const results = (rs) => rs && rs.map(([e, v]) => (e ? ['error', e.message] : ['ok', v]));
const err = async (p) => {
  try {
    return ['ok', await p];
  } catch (e) {
    return ['error', e.message];
  }
};
// once resolves with the first event named ev that holds.
const once = (em, ev, pred = () => true) =>
  new Promise((resolve) => {
    const f = (...a) => {
      if (pred(...a)) {
        em.off(ev, f);
        resolve(a);
      }
    };
    em.on(ev, f);
  });

async function main() {
  const r = new Redis({ ...opts, connectionName: 'ioredis-main' });
  await r.connect();
  await r.flushall();

  out('client getname', await r.client('GETNAME'));
  out('client setname', await r.client('SETNAME', 'renamed'));
  out('client getname after', await r.client('GETNAME'));
  const me = await r.client('INFO');
  out('client info', me.match(/ name=(\S*) .* resp=(\d)/).slice(1));

  // Strings.
  out('set', await r.set('s', 'hello'));
  out('set ex nx', await r.set('s', 'x', 'EX', 100, 'NX'));
  out('get', await r.get('s'));
  out('getBuffer', (await r.getBuffer('s')).toString('hex'));
  out('append', await r.append('s', ' world'));
  out('incr', await r.incr('n'));
  out('incrbyfloat', await r.incrbyfloat('n', 1.5));
  out('mset', await r.mset({ a: '1', b: '2' }));
  out('mget', await r.mget('a', 'b', 'nokey'));
  out('wrongtype', await err(r.lpush('s', 'x')));
  out('incr error', await err(r.incr('s')));
  out('ttl', await r.ttl('s'));

  // Hashes.
  out('hset', await r.hset('h', { f1: 'v1', f2: 'v2' }));
  out('hgetall', await r.hgetall('h'));
  out('hmget', await r.hmget('h', 'f1', 'nofield'));
  out('hincrby', await r.hincrby('h', 'n', 5));
  out('hdel', await r.hdel('h', 'f2', 'nofield'));
  out('hkeys', sorted(await r.hkeys('h')));

  // Lists.
  out('rpush', await r.rpush('l', 'a', 'b', 'c', 'd'));
  out('lpop', await r.lpop('l'));
  out('lrange', await r.lrange('l', 0, -1));
  out('lmove', await r.lmove('l', 'l2', 'LEFT', 'RIGHT'));
  out('blpop', await r.blpop('l2', 1));
  out('lpos', await r.lpos('l', 'd'));

  // Sets.
  out('sadd', await r.sadd('set', 'x', 'y', 'z'));
  out('smembers', sorted(await r.smembers('set')));
  out('sismember', await r.sismember('set', 'y'));
  out('sinter', sorted(await r.sinter('set', 'nokey')));
  out('scard', await r.scard('set'));

  // Sorted sets.
  out('zadd', await r.zadd('z', 1, 'one', 2, 'two', 3.5, 'three'));
  out('zrange withscores', await r.zrange('z', 0, -1, 'WITHSCORES'));
  out('zrangebyscore', await r.zrangebyscore('z', '(1', '+inf'));
  out('zincrby', await r.zincrby('z', 0.25, 'one'));
  out('zrank', await r.zrank('z', 'three'));
  out('zpopmin', await r.zpopmin('z'));

  // Streams: XADD, XREAD, consumer groups.
  out('xadd', await r.xadd('st', '1-1', 'f', 'v1'));
  out('xadd 2', await r.xadd('st', '2-1', 'f', 'v2', 'g', 'w'));
  out('xrange', await r.xrange('st', '-', '+'));
  out('xread', await r.xread('COUNT', 10, 'STREAMS', 'st', '0'));
  out('xgroup create', await r.xgroup('CREATE', 'st', 'grp', '0'));
  out('xreadgroup', await r.xreadgroup('GROUP', 'grp', 'c1', 'COUNT', 1, 'STREAMS', 'st', '>'));
  out('xpending', await r.xpending('st', 'grp'));
  out('xack', await r.xack('st', 'grp', '1-1'));
  out('xlen', await r.xlen('st'));
  out('xadd error', await err(r.xadd('st', '1-0', 'f', 'v')));

  out('type', await Promise.all(['s', 'h', 'l', 'set', 'z', 'st', 'nokey'].map((k) => r.type(k))));

  // A pipeline and a transaction.
  out('pipeline', results(await r.pipeline().set('p1', 'v').incr('p2').get('p1').lpush('p1', 'x').exec()));
  out('multi', results(await r.multi().set('m1', 'v').incr('m2').get('m1').exec()));
  out('multi with error', results(await r.multi().set('m3', 'v').lpush('m3', 'x').exec()));
  out('multi queue error', await err(r.multi().set('m4').exec()));
  const w = new Redis(opts);
  await w.connect();
  await r.watch('watched');
  await w.set('watched', 'changed');
  out('watch aborted', await r.multi().set('watched', 'mine').exec());

  // Lua: defineCommand runs EVALSHA and falls back to EVAL on NOSCRIPT.
  r.defineCommand('getset2', {
    numberOfKeys: 1,
    lua: "local old = redis.call('GET', KEYS[1]); redis.call('SET', KEYS[1], ARGV[1]); return old",
  });
  out('script flush', await r.script('FLUSH'));
  out('defineCommand', await r.getset2('lua', 'one'));
  out('defineCommand again', await r.getset2('lua', 'two'));
  out('defineCommand in pipeline', results(await r.pipeline().getset2('lua', 'three').get('lua').exec()));
  out('eval', await r.eval('return {1, "two", {3, false}}', 0));
  out('eval error', await err(r.eval("return redis.call('INCR', KEYS[1])", 1, 's')));

  // scanStream walks every key once.
  for (let i = 0; i < 150; i++) await r.set(`scan:${i}`, i);
  const seen = [];
  await new Promise((resolve, reject) => {
    const st = r.scanStream({ match: 'scan:*', count: 20 });
    st.on('data', (keys) => seen.push(...keys));
    st.on('end', resolve);
    st.on('error', reject);
  });
  out('scanStream', [seen.length, new Set(seen).size]);
  const hseen = [];
  await new Promise((resolve, reject) => {
    const st = r.hscanStream('h', { count: 1 });
    st.on('data', (kv) => hseen.push(...kv));
    st.on('end', resolve);
    st.on('error', reject);
  });
  out('hscanStream', hseen.length);

  // Pub/sub: a subscriber, a pattern subscriber and keyspace events.
  const sub = new Redis(opts);
  await sub.connect();
  out('subscribe', await sub.subscribe('news', 'other'));
  out('psubscribe', await sub.psubscribe('__keyspace@0__:watched*'));
  out('subscribed command', await err(sub.get('x')));
  out('config set notify', await r.config('SET', 'notify-keyspace-events', 'K$'));
  const msg = once(sub, 'message');
  out('publish', await r.publish('news', 'hello'));
  out('message', await msg);
  const pmsg = once(sub, 'pmessage');
  await r.set('watched:key', 'v');
  out('pmessage', await pmsg);
  out('pubsub numsub', await r.pubsub('NUMSUB', 'news', 'nochannel'));
  out('unsubscribe', await sub.unsubscribe('news'));
  out('punsubscribe', await sub.punsubscribe('__keyspace@0__:watched*'));
  out('unsubscribe all', await sub.unsubscribe('other'));
  out('after unsubscribe', await sub.ping());

  // Client-side caching over RESP2: invalidations on __redis__:invalidate
  // of a connection the tracking client redirects to.
  const inv = new Redis(opts);
  await inv.connect();
  const invID = await inv.client('ID');
  await inv.subscribe('__redis__:invalidate');
  const tr = new Redis(opts);
  await tr.connect();
  out('tracking on', await tr.client('TRACKING', 'on', 'REDIRECT', invID));
  out('tracking getredir', (await tr.client('GETREDIR')) === invID);
  await tr.get('cached');
  const inval = once(inv, 'messageBuffer');
  await w.set('cached', 'v');
  const [ch, keys] = await inval;
  out('invalidate', [ch.toString(), keys.map(String)]);
  const flushed = once(inv, 'messageBuffer');
  await tr.get('cached');
  await w.flushall();
  const [fch, fkeys] = await flushed;
  out('invalidate flush', [fch.toString(), fkeys]);

  // RESP2 replies of server commands ioredis parses itself.
  out('info keys', (await r.info('server')).includes('redis_version:'));
  out('unknown command', await err(r.call('NOSUCHCOMMAND', 'x')));
  out('arity', await err(r.call('GET')));

  for (const c of [r, w, sub, inv, tr]) c.disconnect();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
