-- wrk script for `make bench` (scripts/bench.py). Counts responses by status and prints one
-- machine-readable line, "BENCHJSON {...}", when the run ends.
--
--   GET a rotating list of paths, one per line in a file (optionally each URL made unique, and/or
--   asking for gzip as browsers do):
--     wrk ... -s scripts/bench_wrk.lua http://127.0.0.1:PORT -- paths FILE [unique NONCE] [gzip]
--   POST the submission form with a session cookie, its CSRF token and a unique client token a request:
--     wrk ... -s scripts/bench_wrk.lua http://127.0.0.1:PORT -- submit CSRF COOKIE NONCE VILLAGES CATEGORIES TITLE DESC
--   (VILLAGES and CATEGORIES are comma-separated ids; TITLE and DESC are already form-encoded.)
--   POST Open311 requests.json with an API key and a unique token a request:
--     wrk ... -s scripts/bench_wrk.lua http://127.0.0.1:PORT -- open311 API_KEY NONCE SERVICES VILLAGES DESC
--   (SERVICES are comma-separated service codes, VILLAGES village slugs; DESC is already form-encoded.)
--   GET paths as a signed-in user (the session cookie on every request):
--     wrk ... -s scripts/bench_wrk.lua http://127.0.0.1:PORT -- authpaths FILE COOKIE
--   The mixed traffic: of every 20 requests, 18 GET the paths of FILE, one GETs /submit (a new session:
--   its cookie and CSRF token are kept) and one POSTs the form with the last ones kept and a new client
--   token:
--     wrk ... -s scripts/bench_wrk.lua http://127.0.0.1:PORT -- mixed FILE NONCE VILLAGES CATEGORIES TITLE DESC

local threads = {}
local next_tid = 1

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

local function split(text)
  local out = {}
  for part in string.gmatch(text, "[^,]+") do out[#out + 1] = part end
  return out
end

function init(args)
  statuses = {}
  mode = args[1]
  counter = 0
  if mode == "authpaths" or mode == "mixed" then
    local lines = {}
    local cookie_headers = mode == "authpaths" and {["Cookie"] = "civic_session=" .. args[3]} or {}
    for line in io.lines(args[2]) do
      if #line > 0 then lines[#lines + 1] = wrk.format("GET", line, cookie_headers) end
    end
    if #lines == 0 then error("no paths in " .. tostring(args[2])) end
    prepared = lines
    idx = ((tid - 1) * math.floor(#prepared / 2 + 1)) % #prepared
    if mode == "mixed" then
      nonce = args[3]
      villages, categories = split(args[4]), split(args[5])
      title, desc = args[6], args[7]
      form_get = wrk.format("GET", "/submit")
      csrf, cookie = nil, nil
    end
  elseif mode == "paths" then
    -- "unique NONCE": append a parameter no page reads, so that no two requests share a URL (and no
    -- page cache can answer them); otherwise the requests are prepared once.
    unique = args[3] == "unique" and args[4] or nil
    extra_headers = {}
    if args[5] == "gzip" or args[3] == "gzip" then extra_headers["Accept-Encoding"] = "gzip" end
    local lines = {}
    for line in io.lines(args[2]) do
      if #line > 0 then
        lines[#lines + 1] = unique and line or wrk.format("GET", line, extra_headers)
      end
    end
    if #lines == 0 then error("no paths in " .. tostring(args[2])) end
    prepared = lines
    -- each thread starts somewhere else in the list
    idx = ((tid - 1) * math.floor(#prepared / 2 + 1)) % #prepared
  elseif mode == "submit" then
    csrf, cookie, nonce = args[2], args[3], args[4]
    villages, categories = split(args[5]), split(args[6])
    title, desc = args[7], args[8]
    post_headers = {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Cookie"] = "civic_session=" .. cookie,
    }
  elseif mode == "open311" then
    api_key, nonce = args[2], args[3]
    services, villages = split(args[4]), split(args[5])
    desc = args[6]
    post_headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
  else
    error("unknown mode " .. tostring(mode))
  end
end

local function submit_post(v)
  local c = categories[counter % #categories + 1]
  local body = "csrf_token=" .. csrf
    .. "&client_token=" .. nonce .. "t" .. tid .. "n" .. counter
    .. "&kind=concern&village_id=" .. v .. "&category_id=" .. c
    -- unique in every run: the same text from the same phone within minutes is a repeat, not a new item
    .. "&title=" .. title .. "+" .. nonce .. "-" .. tid .. "-" .. counter
    .. "&description=" .. desc
    .. "&address=&lat=&lng=&contact_name=&contact_phone=0912345678"
  return wrk.format("POST", "/submit", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "civic_session=" .. cookie,
  }, body)
end

function request()
  counter = counter + 1
  if mode == "authpaths" then
    idx = idx % #prepared + 1
    return prepared[idx]
  end
  if mode == "mixed" then
    local slot = counter % 20
    if slot == 0 then
      return form_get
    elseif slot == 1 and csrf then
      return submit_post(villages[(counter * 7 + tid) % #villages + 1])
    end
    idx = idx % #prepared + 1
    return prepared[idx]
  end
  if mode == "paths" then
    idx = idx % #prepared + 1
    if unique then
      local path = prepared[idx]
      local sep = string.find(path, "?", 1, true) and "&" or "?"
      return wrk.format("GET", path .. sep .. "_b=" .. unique .. tid .. "x" .. counter, extra_headers)
    end
    return prepared[idx]
  end
  local v = villages[(counter * 7 + tid) % #villages + 1]
  if mode == "open311" then
    local body = "api_key=" .. api_key
      .. "&service_code=" .. services[counter % #services + 1]
      .. "&token=" .. nonce .. "t" .. tid .. "n" .. counter
      .. "&address_id=" .. v .. "&lat=21.3021&long=105.2104"
      .. "&description=" .. desc .. "+" .. counter
    return wrk.format("POST", "/open311/v2/requests.json", post_headers, body)
  end
  local c = categories[counter % #categories + 1]
  local body = "csrf_token=" .. csrf
    .. "&client_token=" .. nonce .. "t" .. tid .. "n" .. counter
    .. "&kind=concern&village_id=" .. v .. "&category_id=" .. c
    -- unique in every run: the same text from the same phone within minutes is a repeat, not a new item
    .. "&title=" .. title .. "+" .. nonce .. "-" .. tid .. "-" .. counter
    .. "&description=" .. desc
    .. "&address=&lat=&lng=&contact_name=&contact_phone=0912345678"
  return wrk.format("POST", "/submit", post_headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if mode == "mixed" and status == 200 then
    -- only the form sets a session cookie: read its token then, not on every page
    local set = headers["Set-Cookie"] or headers["set-cookie"]
    local value = set and string.match(set, "civic_session=([^;]+)")
    local token = value and body and string.match(body, 'name="csrf_token" value="([^"]+)"')
    if token then csrf, cookie = token, value end
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then
      for code, n in pairs(s) do total[code] = (total[code] or 0) + n end
    end
  end
  local parts = {}
  for code, n in pairs(total) do parts[#parts + 1] = string.format('"%d":%d', code, n) end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,'
    .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
    .. '"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d},'
    .. '"statuses":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    table.concat(parts, ",")))
end
