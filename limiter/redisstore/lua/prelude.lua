-- Shared by every script. A key's buckets live in one hash (KEYS[1]):
-- per kind i in 1..4 the fields l<i> limit, v<i> level (may be negative),
-- t<i> last refill (server microseconds), g<i> learned limit, r<i> reset
-- (server microseconds, 0 none), c<i> the cap last applied; ln is 1 once a
-- provider reading was observed. The model is limiter.MemoryStore's: keep
-- the two in step.

local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function fmt(x)
  return string.format('%.17g', x)
end

local function effective(learned, cap)
  if learned <= 0 then return cap end
  if cap <= 0 then return learned end
  return math.min(learned, cap)
end

local function advance(b, now, window)
  if b.limit > 0 and now > b.last then
    b.level = math.min(b.limit, b.level + b.limit * (now - b.last) / window)
  end
  if now > b.last or b.limit <= 0 then b.last = now end
end

local function setlimit(b, eff, now)
  if eff <= 0 then
    b.limit, b.level = 0, 0
  elseif b.limit <= 0 then
    b.limit, b.level = eff, eff
  else
    local used = b.limit - b.level
    b.limit, b.level = eff, eff - used
  end
  b.last = now
end

-- load reads the key's buckets and brings them to now under caps.
local function load(key, now, window, caps)
  local raw = redis.call('HGETALL', key)
  local h = {}
  for j = 1, #raw, 2 do h[raw[j]] = raw[j + 1] end
  local s = {learned = h['ln'] == '1', b = {}}
  for i = 1, 4 do
    local b = {
      limit = tonumber(h['l' .. i] or '0'),
      level = tonumber(h['v' .. i] or '0'),
      last = tonumber(h['t' .. i] or tostring(now)),
      learned = tonumber(h['g' .. i] or '0'),
      reset = tonumber(h['r' .. i] or '0'),
      cap = tonumber(h['c' .. i] or '0'),
    }
    advance(b, now, window)
    if b.cap ~= caps[i] then
      b.cap = caps[i]
      setlimit(b, effective(b.learned, caps[i]), now)
    end
    s.b[i] = b
  end
  return s
end

-- save writes the key's buckets, to expire ttl ms after this use but never
-- before every bucket is full again: a debt is repaid, not forgotten.
local function save(key, s, ttl, window)
  local f = {'ln', s.learned and '1' or '0'}
  for i = 1, 4 do
    local b = s.b[i]
    if b.limit > 0 and b.level < b.limit then
      ttl = math.max(ttl, math.ceil((b.limit - b.level) / b.limit * window / 1000))
    end
    f[#f + 1] = 'l' .. i; f[#f + 1] = fmt(b.limit)
    f[#f + 1] = 'v' .. i; f[#f + 1] = fmt(b.level)
    f[#f + 1] = 't' .. i; f[#f + 1] = fmt(b.last)
    f[#f + 1] = 'g' .. i; f[#f + 1] = fmt(b.learned)
    f[#f + 1] = 'r' .. i; f[#f + 1] = fmt(b.reset)
    f[#f + 1] = 'c' .. i; f[#f + 1] = fmt(b.cap)
  end
  redis.call('HSET', key, unpack(f))
  redis.call('PEXPIRE', key, ttl)
end

-- reply is {verdict, a, b, now, learned, cooldown, then limit, level,
-- learned, reset for each kind}; times are absolute server microseconds.
local function reply(verdict, a, b, now, s, cd)
  local r = {verdict, a, b, now, s.learned and 1 or 0, cd}
  for i = 1, 4 do
    local x = s.b[i]
    r[#r + 1] = math.floor(x.limit)
    r[#r + 1] = fmt(x.level)
    r[#r + 1] = math.floor(x.learned)
    r[#r + 1] = x.reset
  end
  return r
end

local function cooldown(key)
  return tonumber(redis.call('GET', key) or '0')
end

-- ARGV[1] window (us), ARGV[2] ttl (ms), ARGV[3..6] caps.
local window = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local caps = {}
for i = 1, 4 do caps[i] = tonumber(ARGV[2 + i]) end
local now = now_us()
