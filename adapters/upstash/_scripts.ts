// The Lua scripts behind every Upstash operation. Each one runs atomically on the Redis
// server, so every check-and-write is a single server-side step and a single HTTP round trip.
//
// Conventions shared by all scripts:
// - Keys arrive in KEYS, data in ARGV; nothing is ever spliced into the script text.
// - Every string a script returns is prefixed with "~". The SDK may JSON-parse results
//   (automatic deserialization is on by default for clients users build themselves), and
//   "~" makes every such string invalid JSON, so it always comes back exactly as sent.
// - Times come from the server's clock (TIME), and expiry is Redis's own PEXPIRE, so
//   client clock skew cannot revive or expire a record early.
// - Every script that changes data is idempotent under resend: KEYS[1] is a fresh receipt
//   key per call and ARGV[1] its lifetime in ms. The script stores its reply there, and a
//   resent request (the SDK retries after a fetch failure, and the first attempt may have
//   run) finds the receipt and returns that first reply without running again. The data
//   keys and arguments of such scripts therefore start at KEYS[2] and ARGV[2].

/** A Lua source and, once computed, its SHA-1 for EVALSHA. */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
}

const NOW_MS = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end`;

/**
 * Wraps a mutating script's body, a Lua function `run` returning a non-empty reply table.
 * The receipt holds the reply as a list: numbers come back as text and are turned back
 * into numbers, strings keep their "~" guard.
 */
export function withReceipt(body: string): string {
  return `
local stored = redis.call('LRANGE', KEYS[1], 0, -1)
if #stored > 0 then
  for i = 1, #stored do
    if string.sub(stored[i], 1, 1) ~= '~' then stored[i] = tonumber(stored[i]) end
  end
  return stored
end
${body}
local out = run()
redis.call('RPUSH', KEYS[1], unpack(out))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return out`;
}

/**
 * Reads one state, hiding an expired one even if Redis has not evicted it yet.
 * KEYS[1] state hash. Returns nil, or {"~value", "~etag", revision[, expiresAt]}.
 */
export const READ: LuaScript = {
  name: "read",
  source: `${NOW_MS}
local cur = redis.call('HMGET', KEYS[1], 'v', 'e', 'r', 'x')
if not cur[2] then return false end
if cur[4] then
  local expires_at = tonumber(cur[4])
  if expires_at <= now_ms() then return false end
  return {'~' .. (cur[1] or ''), '~' .. cur[2], tonumber(cur[3]), expires_at}
end
return {'~' .. (cur[1] or ''), '~' .. cur[2], tonumber(cur[3])}`,
};

/**
 * Conditionally writes one state and keeps the actor-type index in step.
 * KEYS[1] receipt, KEYS[2] state hash, KEYS[3] index sorted set (absent in cluster mode).
 * ARGV: receipt ms, mode ("any" | "none" | "match"), expected etag, new etag, value,
 * ttl ms or "", index member. Returns {1, revision, expiresAt or -1} or {0[, "~actualEtag"]}.
 */
export const WRITE: LuaScript = {
  name: "write",
  source: withReceipt(`${NOW_MS}
local function run()
  local cur = redis.call('HMGET', KEYS[2], 'e', 'r', 'x')
  local etag = cur[1]
  if etag == ARGV[4] then
    return {1, tonumber(cur[2]), tonumber(cur[3] or '-1')}
  end
  if (ARGV[2] == 'none' and etag) or (ARGV[2] == 'match' and etag ~= ARGV[3]) then
    if etag then return {0, '~' .. etag} end
    return {0}
  end
  local revision = (tonumber(cur[2]) or 0) + 1
  local expires_at = -1
  redis.call('DEL', KEYS[2])
  if ARGV[6] ~= '' then
    expires_at = now_ms() + tonumber(ARGV[6])
    redis.call('HSET', KEYS[2], 'v', ARGV[5], 'e', ARGV[4], 'r', revision, 'x', expires_at)
    redis.call('PEXPIRE', KEYS[2], ARGV[6])
  else
    redis.call('HSET', KEYS[2], 'v', ARGV[5], 'e', ARGV[4], 'r', revision)
  end
  if KEYS[3] then redis.call('ZADD', KEYS[3], 0, ARGV[7]) end
  return {1, revision, expires_at}
end`),
};

/**
 * Conditionally deletes one state.
 * KEYS[1] receipt, KEYS[2] state hash, KEYS[3] index (absent in cluster mode).
 * ARGV: receipt ms, mode ("any" | "none" | "match"), expected etag, index member.
 * Returns {1} deleted, {0} absent, or {-1, "~actualEtag"} on conflict.
 */
export const DELETE: LuaScript = {
  name: "delete",
  source: withReceipt(`
local function run()
  local etag = redis.call('HGET', KEYS[2], 'e')
  if not etag then
    if KEYS[3] then redis.call('ZREM', KEYS[3], ARGV[4]) end
    return {0}
  end
  if ARGV[2] == 'none' or (ARGV[2] == 'match' and etag ~= ARGV[3]) then return {-1, '~' .. etag} end
  redis.call('DEL', KEYS[2])
  if KEYS[3] then redis.call('ZREM', KEYS[3], ARGV[4]) end
  return {1}
end`),
};

/**
 * One page of an actor type's index, skipping (and pruning) members whose state has expired.
 * KEYS[1] index. ARGV: state key base ("<prefix>:s:{<type>/"), escaped actor id prefix,
 * cursor member or "", limit. Returns {more (0|1), "~lastMember", "~member", …}.
 * The script builds state keys itself to check they still exist, which is why listing is
 * unavailable in cluster mode. Pruning is idempotent, so it needs no receipt.
 */
export const LIST: LuaScript = {
  name: "list",
  source: `
local base, prefix, cursor, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local min = '-'
if cursor ~= '' then min = '(' .. cursor elseif prefix ~= '' then min = '[' .. prefix end
local max = '+'
if prefix ~= '' then max = '(' .. prefix .. '\\255' end
local out = {0, '~'}
local last = nil
local found = 0
while found < limit do
  local batch = redis.call('ZRANGEBYLEX', KEYS[1], min, max, 'LIMIT', 0, limit - found)
  if #batch == 0 then break end
  for _, member in ipairs(batch) do
    local slash = string.find(member, '/', 1, true)
    local key = base .. string.sub(member, 1, slash - 1) .. '}/' .. string.sub(member, slash + 1)
    if redis.call('EXISTS', key) == 1 then
      found = found + 1
      out[#out + 1] = '~' .. member
    else
      redis.call('ZREM', KEYS[1], member)
    end
    last = member
  end
  min = '(' .. last
end
if last then
  out[2] = '~' .. last
  if #redis.call('ZRANGEBYLEX', KEYS[1], '(' .. last, max, 'LIMIT', 0, 1) > 0 then out[1] = 1 end
end
return out`,
};

/**
 * Several writes and deletes, all or none: every precondition is checked before anything
 * is changed. KEYS: the receipt, the n state hashes (KEYS[2] … KEYS[n + 1]), then the index
 * keys. ARGV: receipt ms, n, then 8 values per operation: kind ("w" | "d"), mode, expected
 * etag, new etag, value, ttl ms or "", index member, position of its index in KEYS (0 for none).
 * Returns {1, revision1, expiresAt1, revision2, …} (0, -1 for deletes) or
 * {0, failedOperation (1-based)[, "~actualEtag"]}.
 */
export const TRANSACT: LuaScript = {
  name: "transact",
  source: withReceipt(`${NOW_MS}
local function run()
  local n = tonumber(ARGV[2])
  local skip = {}
  local revisions = {}
  local now = nil
  for i = 1, n do
    local a = 2 + (i - 1) * 8
    local kind, mode, expected, new_etag = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
    local cur = redis.call('HMGET', KEYS[i + 1], 'e', 'r')
    local etag = cur[1]
    if kind == 'w' then
      if etag == new_etag then
        skip[i] = true
        revisions[i] = tonumber(cur[2])
      elseif (mode == 'none' and etag) or (mode == 'match' and etag ~= expected) then
        if etag then return {0, i, '~' .. etag} end
        return {0, i}
      else
        revisions[i] = (tonumber(cur[2]) or 0) + 1
      end
    else
      if not etag then
        skip[i] = true
      elseif mode == 'none' or (mode == 'match' and etag ~= expected) then
        return {0, i, '~' .. etag}
      end
    end
  end
  local out = {1}
  for i = 1, n do
    local a = 2 + (i - 1) * 8
    local kind, new_etag, value, ttl, member = ARGV[a + 1], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6], ARGV[a + 7]
    local index = tonumber(ARGV[a + 8])
    local key = KEYS[i + 1]
    local expires_at = -1
    if kind == 'w' then
      if skip[i] then
        expires_at = tonumber(redis.call('HGET', key, 'x') or '-1')
      else
        redis.call('DEL', key)
        if ttl ~= '' then
          now = now or now_ms()
          expires_at = now + tonumber(ttl)
          redis.call('HSET', key, 'v', value, 'e', new_etag, 'r', revisions[i], 'x', expires_at)
          redis.call('PEXPIRE', key, ttl)
        else
          redis.call('HSET', key, 'v', value, 'e', new_etag, 'r', revisions[i])
        end
        if index > 0 then redis.call('ZADD', KEYS[index], 0, member) end
      end
      out[#out + 1] = revisions[i]
    else
      if not skip[i] then redis.call('DEL', key) end
      if index > 0 then redis.call('ZREM', KEYS[index], member) end
      out[#out + 1] = 0
    end
    out[#out + 1] = expires_at
  end
  return out
end`),
};

/**
 * Appends a batch of events if the stream is at the expected version, and gives each event
 * the next position of the global order. Redis runs one script at a time, so the positions
 * an append takes, its list elements and its log entries appear together: a reader of the
 * log never sees a position that a slower append could still fill in below it.
 * KEYS[1] receipt, KEYS[2] the stream's list, KEYS[3] the position counter, KEYS[4] the
 * global log. ARGV: receipt ms, expectation ("any" | "no_stream" | "exact"), expected
 * version, the stream's hash tag, then one event per value as the JSON array
 * ["<type>","<base64 data>"(,"<base64 metadata>")]. Each is stored with its position and
 * the server's time in ms put in front: [position,createdAt,"<type>",…].
 * Returns {1, nextVersion, lastPosition} or {0, actualVersion}.
 */
export const APPEND: LuaScript = {
  name: "append",
  source: withReceipt(`
local function run()
  local length = redis.call('LLEN', KEYS[2])
  if (ARGV[2] == 'no_stream' and length ~= 0) or (ARGV[2] == 'exact' and length ~= tonumber(ARGV[3])) then
    return {0, length}
  end
  local count = #ARGV - 4
  local t = redis.call('TIME')
  local stamp = ',' .. t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000)) .. ','
  local last = redis.call('INCRBY', KEYS[3], count)
  local first = last - count
  local i = 1
  while i <= count do
    local j = math.min(i + 499, count)
    local items, entries = {}, {}
    for k = i, j do
      local position = string.format('%d', first + k)
      items[#items + 1] = '[' .. position .. stamp .. string.sub(ARGV[4 + k], 2)
      entries[#entries + 1] = position
      entries[#entries + 1] = string.format('%d', length + k) .. ':' .. ARGV[4]
    end
    redis.call('RPUSH', KEYS[2], unpack(items))
    redis.call('ZADD', KEYS[4], unpack(entries))
    i = j + 1
  end
  return {1, length + count, last}
end`),
};

/**
 * One page of the global order. KEYS[1] the global log. ARGV: the position to read after,
 * the page size, the start of stream list keys ("<prefix>:e:{"). Each log member is
 * "<version>:<stream hash tag>", which names the list element holding the event; the script
 * reads those lists itself, so one page is one round trip. Returns
 * {"~<member>", "~<element>", …}, with "~" alone for an element that is missing.
 */
export const READ_ALL: LuaScript = {
  name: "read-all",
  source: `
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, member in ipairs(members) do
  local colon = string.find(member, ':', 1, true)
  local item = redis.call('LINDEX', ARGV[3] .. string.sub(member, colon + 1) .. '}', tonumber(string.sub(member, 1, colon - 1)) - 1)
  out[#out + 1] = '~' .. member
  out[#out + 1] = '~' .. (item or '')
end
return out`,
};

/** One page of a stream. KEYS[1] the list. ARGV: first index, last index (0-based). */
export const READ_EVENTS: LuaScript = {
  name: "read-events",
  source: `
local items = redis.call('LRANGE', KEYS[1], ARGV[1], ARGV[2])
for i = 1, #items do items[i] = '~' .. items[i] end
return items`,
};

/** The stream's version. KEYS[1] the list. */
export const STREAM_VERSION: LuaScript = {
  name: "stream-version",
  source: `return redis.call('LLEN', KEYS[1])`,
};

/**
 * Saves a snapshot unless one at the same or a newer version is stored.
 * KEYS[1] receipt, KEYS[2] the snapshot hash. ARGV: receipt ms, version, data.
 * Returns {1} saved, {0} kept the stored one.
 */
export const SAVE_SNAPSHOT: LuaScript = {
  name: "save-snapshot",
  source: withReceipt(`
local function run()
  local stored = redis.call('HGET', KEYS[2], 'n')
  if stored and tonumber(stored) >= tonumber(ARGV[2]) then return {0} end
  redis.call('HSET', KEYS[2], 'n', ARGV[2], 'd', ARGV[3])
  return {1}
end`),
};

/** Loads the snapshot. KEYS[1] the snapshot hash. Returns nil or {version, "~data"}. */
export const LOAD_SNAPSHOT: LuaScript = {
  name: "load-snapshot",
  source: `
local cur = redis.call('HMGET', KEYS[1], 'n', 'd')
if not cur[1] then return false end
return {tonumber(cur[1]), '~' .. (cur[2] or '')}`,
};
