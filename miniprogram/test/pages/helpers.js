// Loading a page or component of the mini-program under miniprogram-simulate, with `wx` mocked per test.
const path = require('path')
const simulate = require('miniprogram-simulate')

const ROOT = path.resolve(__dirname, '../..')

// A page (built with Component()) rendered and attached, as the framework shows it.
function render(pagePath, properties) {
  // simulate runs each page's and component's JS with require and drops it from require.cache to run it again
  // next time; under jest the module registry is jest's own, so it is reset here instead.
  jest.resetModules()
  const id = simulate.load(path.join(ROOT, pagePath), { rootPath: ROOT, compiler: 'simulate' })
  const comp = simulate.render(id, properties)
  comp.attach(document.createElement('parent-wrapper'))
  return comp
}

// Storage backed by a Map, and an answer queue for wx.request: each entry {statusCode, data} or a function of
// the request options returning one; `null` makes the request fail as a network error would.
function mockWx(answers = []) {
  const storage = new Map()
  const requests = []
  const queue = answers.slice()
  const wx = global.wx
  wx.getStorageSync = jest.fn((k) => (storage.has(k) ? storage.get(k) : ''))
  wx.setStorageSync = jest.fn((k, v) => storage.set(k, v))
  wx.removeStorageSync = jest.fn((k) => storage.delete(k))
  // The subscribe popup closed without an answer, unless a test says otherwise.
  wx.requestSubscribeMessage = jest.fn(({ success }) => success({ errMsg: 'requestSubscribeMessage:ok' }))
  wx.login = jest.fn(({ success }) => success({ code: `code-${requests.length}` }))
  wx.request = jest.fn((options) => {
    requests.push(options)
    let answer = queue.length ? queue.shift() : { statusCode: 500, data: 'no answer queued' }
    if (typeof answer === 'function') answer = answer(options)
    setTimeout(() => (answer === null ? options.fail({ errMsg: 'request:fail' }) : options.success(answer)), 0)
  })
  storage.set('xinma_token', 'token-1')
  return { storage, requests, queue }
}

const ok = (data, statusCode = 200) => ({ statusCode, data: { ok: true, data } })
const refused = (statusCode, code, message) => ({ statusCode, data: { ok: false, error: { code, message } } })

// Let the promises and timers of a page settle.
async function settle() {
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setTimeout(resolve, 1))
}

// The elements carrying class `cls` anywhere in the rendered page, its components included (simulate prefixes
// each class with its component's tag: `status--error`).
function all(comp, cls) {
  return Array.from(comp.dom.querySelectorAll('*')).filter((node) =>
    Array.from(node.classList).some((c) => c === cls || c.endsWith(`--${cls}`)),
  )
}

function text(comp, cls) {
  const node = all(comp, cls)[0]
  return node ? node.textContent.replace(/\s+/g, ' ').trim() : null
}

// Tap what the resident taps: `.submit`, or `.retry` inside the page's components (j-component's `>>>`).
function tap(comp, cls) {
  const node = comp.querySelector(`.page .${cls}`) || comp.querySelector(`.page >>> .${cls}`)
  if (!node) throw new Error(`nothing to tap: .${cls}`)
  node.dispatchEvent('tap')
}

const shown = (comp) => comp.dom.textContent.replace(/\s+/g, ' ')

module.exports = { render, mockWx, ok, refused, settle, all, text, shown, tap, ROOT }
