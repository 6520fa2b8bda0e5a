// Ask WeChat's subscribe popup for up to three templates (WeChat's limit for one call; it must follow a tap) and
// record its answers with the backend. Resolves with {asked, results, left}; `results` empty when the resident
// closed the popup or WeChat refused it (`failed` then says so); rejects only with the backend's ApiError.
const api = require('./api')

const PER_CALL = 3
const ANSWERS = ['accept', 'reject', 'ban', 'filter']

function popup(ids) {
  return new Promise((resolve) => {
    wx.requestSubscribeMessage({
      tmplIds: ids,
      success: (res) => resolve(res),
      fail: () => resolve(null),
    })
  })
}

async function ask(templates) {
  const asked = (templates || []).filter((id, i, all) => id && all.indexOf(id) === i).slice(0, PER_CALL)
  if (!asked.length) return { asked, results: {}, left: {} }
  const res = await popup(asked)
  if (!res) return { asked, results: {}, left: {}, failed: true }
  const results = {}
  asked.forEach((id) => {
    if (ANSWERS.indexOf(res[id]) >= 0) results[id] = res[id]
  })
  if (!Object.keys(results).length) return { asked, results, left: {} }
  const recorded = await api.recordSubscriptions(results)
  return { asked, results, left: recorded.left }
}

module.exports = { ask, PER_CALL }
