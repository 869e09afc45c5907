-- Cooldown: KEYS[1] the cool-down key, ARGV[1] the delay in us from now (on
-- the server's clock). A later, earlier until never shortens it.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local d = tonumber(ARGV[1])
if d <= 0 then return 0 end
local u = now + d
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if u > cur then
  redis.call('SET', KEYS[1], string.format('%d', u), 'PX', math.ceil(d / 1000) + 1000)
  return 1
end
return 0
