-- Reserve: ARGV[7..10] the cost. Verdict 0 charged; 1 denied (a = reason:
-- kind index 0..3 or 4 for the cool-down, b = wait in us). A cost larger than
-- a bucket's limit waits for the bucket to be full and is charged in full
-- (limiter.Store's contract).
local s = load(KEYS[1], now, window, caps)
local cd = cooldown(KEYS[2])
local cost = {}
for i = 1, 4 do cost[i] = tonumber(ARGV[6 + i]) end
if cd > now then
  save(KEYS[1], s, ttl, window)
  return reply(1, 4, cd - now, now, s, cd)
end
local worst, why = 0, -1
for i = 1, 4 do
  local b = s.b[i]
  local need = math.min(cost[i], b.limit)
  if b.limit > 0 and cost[i] > 0 and need > b.level then
    local w = math.ceil((need - b.level) / b.limit * window)
    if w > worst then worst, why = w, i - 1 end
  end
end
if worst > 0 then
  save(KEYS[1], s, ttl, window)
  return reply(1, why, worst, now, s, cd)
end
for i = 1, 4 do
  local b = s.b[i]
  if b.limit > 0 then b.level = b.level - cost[i] end
end
save(KEYS[1], s, ttl, window)
return reply(0, 0, 0, now, s, cd)
