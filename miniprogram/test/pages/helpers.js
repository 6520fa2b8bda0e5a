// Loading a page or component of the mini-program under miniprogram-simulate, with `wx` mocked per test.
const path = require('path')
const simulate = require('miniprogram-simulate')
const { check, shapes } = require('../contract')

const ROOT = path.resolve(__dirname, '../..')

// A page (built with Component()) rendered and attached, as the framework shows it; its WXML compiled by WeChat's
// own compiler (wcc, from miniprogram-compiler), so a template the real client would refuse fails here too.
function render(pagePath, properties) {
  // simulate runs each page's and component's JS with require and drops it from require.cache to run it again
  // next time; under jest the module registry is jest's own, so it is reset here instead.
  jest.resetModules()
  const id = simulate.load(path.join(ROOT, pagePath), { rootPath: ROOT, compiler: 'official' })
  const comp = simulate.render(id, properties)
  comp.attach(document.createElement('parent-wrapper'))
  return comp
}

// Which shape of test/contract.js an answer to `method path` has.
const ROUTES = [
  ['POST', /^\/sessions$/, 'session'], ['GET', /^\/scenes/, 'scene'], ['POST', /^\/photos$/, 'photo'],
  ['POST', /^\/phone$/, 'phone'], ['POST', /^\/complaints$/, 'complaint'], ['GET', /^\/complaints$/, ['complaint']],
  ['GET', /^\/complaints\/\d+$/, 'complaint'], ['POST', /^\/complaints\/\d+\/notes$/, 'complaint'],
  ['GET', /^\/complaints\/\d+\/ratings$/, 'complaintFollowup'], ['POST', /^\/complaints\/\d+\/ratings$/, 'complaintRated'],
  ['GET', /^\/subscriptions$/, 'subscriptions'], ['POST', /^\/subscriptions$/, 'subscriptionsRecorded'],
  ['GET', /^\/my\/topics$/, ['topic']], ['GET', /^\/topics\/\d+$/, 'topic'], ['POST', /^\/topics\/\d+\/ratings$/, 'topicRated'],
  ['GET', /^\/my\/meetings$/, ['meeting']], ['GET', /^\/meetings\/\d+$/, 'meeting'],
  ['POST', /^\/meetings\/\d+\/registrations$/, 'registration'], ['GET', /^\/boards\/[^/]+$/, 'board'],
  ['POST', /^\/staff-bindings$/, 'staffBinding'],
]
const contractProblems = []

function checkAnswer(options, answer) {
  const route = options.url.replace(/^.*\/api\/v1/, '').split('?')[0]
  const body = answer && answer.data
  if (!body || typeof body !== 'object') return
  const where = `${options.method} ${route}`
  if (!body.ok) {
    contractProblems.push(...check(body.error, shapes.error, `${where} error`))
    return
  }
  const found = ROUTES.find(([m, re]) => m === (options.method || 'GET') && re.test(route.split('?')[0]))
  if (!found) {
    contractProblems.push(`${where}: no contract for this call`)
    return
  }
  const shape = Array.isArray(found[2]) ? [shapes[found[2][0]]] : shapes[found[2]]
  contractProblems.push(...check(body.data, shape, where))
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
    checkAnswer(options, answer)
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

module.exports = { contractProblems, render, mockWx, ok, refused, settle, all, text, shown, tap, ROOT }
