// Times from the API carry their offset in China time (2026-12-06T13:31:23+08:00): shown as 2026-12-06 13:31.
function time(iso) {
  return typeof iso === 'string' ? iso.slice(0, 16).replace('T', ' ') : ''
}

// Each item with its `*_at` fields also shown (`at` → `atText`).
function withTimes(item, fields) {
  const out = Object.assign({}, item)
  fields.forEach((f) => {
    out[`${f}Text`] = time(item[f])
  })
  return out
}

module.exports = { time, withTimes }
