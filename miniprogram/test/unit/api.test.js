// The one API module: the envelope, signing in again on 401 and retrying once, and that no page or component
// calls wx.request (or uploads, or downloads) itself.
const fs = require('fs')
const path = require('path')
const { mockWx, ok, refused } = require('../pages/helpers')

const ROOT = path.resolve(__dirname, '../..')

let api
beforeEach(() => {
  jest.resetModules()
  global.wx = {}
  api = require('../../utils/api')
})

test('a 401 signs in again with wx.login and retries the call once, with the new token', async () => {
  const { requests, storage } = mockWx([
    refused(401, 'session_expired', '登录已过期，请重新登录。'),
    ok({ token: 'token-2', expires_in: 604800 }, 201),
    ok([]),
  ])
  await expect(api.myComplaints()).resolves.toEqual([])
  expect(requests.map((r) => [r.method, r.url.replace(/^.*\/api\/v1/, ''), r.header.Authorization])).toEqual([
    ['GET', '/complaints', 'Bearer token-1'],
    ['POST', '/sessions', undefined],
    ['GET', '/complaints', 'Bearer token-2'],
  ])
  expect(requests[1].data).toEqual({ code: 'code-1' })
  expect(storage.get('xinma_token')).toBe('token-2')
})

test('a second 401 is not retried again: its message is shown', async () => {
  const { requests } = mockWx([
    refused(401, 'session_invalid', '登录已失效。'),
    ok({ token: 'token-2', expires_in: 1 }, 201),
    refused(401, 'session_invalid', '登录已失效。'),
  ])
  await expect(api.myTopics()).rejects.toMatchObject({ status: 401, code: 'session_invalid', message: '登录已失效。' })
  expect(requests).toHaveLength(3)
})

test('without a token it signs in first; a risky account is refused with its message', async () => {
  const { requests, storage } = mockWx([refused(403, 'login_user_risky', '该微信账号存在风险，暂时无法登录。')])
  storage.delete('xinma_token')
  await expect(api.myMeetings()).rejects.toMatchObject({ code: 'login_user_risky', message: '该微信账号存在风险，暂时无法登录。' })
  expect(requests.map((r) => r.url.replace(/^.*\/api\/v1/, ''))).toEqual(['/sessions'])
})

test('a 429 carries Retry-After; something not the envelope is a Chinese error', async () => {
  mockWx([
    { statusCode: 429, header: { 'Retry-After': '30' }, data: { ok: false, error: { code: 'rate_limited', message: '操作太频繁，请稍后再试。' } } },
    { statusCode: 502, data: '<html>Bad Gateway</html>' },
  ])
  await expect(api.subscriptions()).rejects.toMatchObject({ code: 'rate_limited', retryAfter: 30 })
  await expect(api.subscriptions()).rejects.toMatchObject({ code: 'bad_response', message: '服务暂时不可用，请稍后再试。' })
})

test('scanOf reads a mini-program code or a plain-link poster from the launch query', () => {
  expect(api.scanOf({ scene: 'abc%2Bdef' })).toEqual({ scene: 'abc+def' })
  expect(api.scanOf({ q: encodeURIComponent('https://x.cn/q/tok'), scancode_time: '1' })).toEqual({ link: 'https://x.cn/q/tok' })
  expect(api.scanOf({})).toBeNull()
})

test('no page or component calls wx.request, wx.uploadFile or wx.downloadFile itself', () => {
  const files = []
  const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).forEach((e) => {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) walk(p)
    else if (/\.(js|wxml|wxs)$/.test(e.name)) files.push(p)
  })
  walk(path.join(ROOT, 'pages'))
  walk(path.join(ROOT, 'components'))
  expect(files.length).toBeGreaterThan(20)
  const offenders = files.filter((f) => /wx\s*\.\s*(request|uploadFile|downloadFile)\b/.test(fs.readFileSync(f, 'utf8')))
  expect(offenders).toEqual([])
  const apiUsers = files.filter((f) => f.endsWith('.js') && fs.readFileSync(f, 'utf8').includes("require('../../utils/api')"))
  expect(apiUsers.length).toBeGreaterThanOrEqual(10)
})

test("the contract names what is missing or retyped in an answer", () => {
  const { check, shapes } = require('../contract')
  const { SCENE } = require('../pages/fixtures')
  expect(check(SCENE, shapes.scene)).toEqual([])
  expect(check({ ...SCENE, unit: { name: '梁堂村第一网格' }, categories: '设施维修' }, shapes.scene, 'scene')).toEqual([
    'scene.categories: expected a list, got "设施维修"', 'scene.unit.full_name: missing'])
  expect(check({ ok: 1 }, { ok: 'integer', n: { nullable: 'string' } })).toEqual(['data.n: missing'])
})
