-- Adjust: ARGV[7..10] the signed correction; a bucket may go into debt and
-- never above its limit.
local s = load(KEYS[1], now, window, caps)
for i = 1, 4 do
  local b = s.b[i]
  if b.limit > 0 then
    b.level = math.min(b.limit, b.level - tonumber(ARGV[6 + i]))
  end
end
save(KEYS[1], s, ttl, window)
return 1
