-- State: the key's buckets at now; nothing is written.
local s = load(KEYS[1], now, window, caps)
return reply(0, 0, 0, now, s, cooldown(KEYS[2]))
