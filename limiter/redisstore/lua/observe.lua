-- Observe: for each kind i, ARGV[3+4i..6+4i] = limit, has remaining (0/1),
-- remaining (less the caller's pending), reset relative to the caller's clock in us ('n': none).
local s = load(KEYS[1], now, window, caps)
for i = 1, 4 do
  local o = 3 + 4 * i
  local limit = tonumber(ARGV[o])
  local hasrem = ARGV[o + 1] == '1'
  local remaining = tonumber(ARGV[o + 2])
  local b = s.b[i]
  if limit > 0 or hasrem then
    s.learned = true
    if ARGV[o + 3] ~= 'n' then b.reset = now + tonumber(ARGV[o + 3]) end
    if limit > 0 and limit ~= b.learned then
      b.learned = limit
      setlimit(b, effective(limit, caps[i]), now)
    end
    if hasrem and b.limit > 0 then
      -- Keep what the provider says is used: under a cap below the
      -- provider's limit the level is the cap minus the provider's usage.
      local lvl = remaining
      if b.learned > 0 then lvl = lvl - (b.learned - b.limit) end
      if lvl < b.level then b.level = lvl end
    end
  end
end
save(KEYS[1], s, ttl, window)
return reply(0, 0, 0, now, s, cooldown(KEYS[2]))
