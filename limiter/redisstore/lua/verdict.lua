-- Breaker verdict: KEYS[1] the verdict key. ARGV[1] is the delay in us from
-- now (on the server's clock) for which the breaker is open; 0 only reads.
-- Returns the verdict's remaining us (0: none).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local d = tonumber(ARGV[1])
if d > 0 and now + d > cur then
  cur = now + d
  redis.call('SET', KEYS[1], string.format('%d', cur), 'PX', math.ceil(d / 1000) + 1000)
end
if cur <= now then return 0 end
return cur - now
