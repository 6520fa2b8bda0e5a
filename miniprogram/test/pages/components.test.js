// The subscribe prompt (at most three templates a tap), the staff binding page, the home page's large-text
// setting applied to every page, and the status component.
const path = require('path')
const simulate = require('miniprogram-simulate')
const { render, mockWx, ok, refused, settle, all, text, shown, tap, ROOT } = require('./helpers')

function prompt(templates) {
  jest.resetModules()
  const id = simulate.load(path.join(ROOT, 'components/subscribe-prompt/index'), { rootPath: ROOT, compiler: 'official' })
  const comp = simulate.render(id, { templates, label: '接收通知' })
  comp.attach(document.createElement('parent-wrapper'))
  return comp
}

const FIVE = ['t1', 't2', 't3', 't4', 't5']

describe('subscribe prompt', () => {
  test('each tap asks WeChat for at most three templates, the next three on the next tap', async () => {
    const { requests } = mockWx([ok({ left: { t1: 1, t2: 1, t3: 0 } }, 201), ok({ left: { t4: 1, t5: 1 } }, 201)])
    wx.requestSubscribeMessage = jest.fn(({ tmplIds, success }) => {
      const res = { errMsg: 'requestSubscribeMessage:ok' }
      tmplIds.forEach((id) => { res[id] = id === 't3' ? 'reject' : 'accept' })
      success(res)
    })
    const comp = prompt(FIVE)
    expect(text(comp, 'ask')).toBe('接收通知')
    comp.querySelector('.ask').dispatchEvent('tap')
    await settle()
    expect(wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['t1', 't2', 't3'])
    expect(requests[0]).toMatchObject({ method: 'POST', data: { results: { t1: 'accept', t2: 'accept', t3: 'reject' } } })
    expect(requests[0].url).toMatch(/\/subscriptions$/)
    expect(text(comp, 'message')).toBe('已开启微信消息提醒')
    comp.querySelector('.ask').dispatchEvent('tap')
    await settle()
    expect(wx.requestSubscribeMessage.mock.calls[1][0].tmplIds).toEqual(['t4', 't5'])
    expect(requests[1].data).toEqual({ results: { t4: 'accept', t5: 'accept' } })
    expect(all(comp, 'ask')).toHaveLength(0) // nothing left to ask for
    expect(wx.requestSubscribeMessage.mock.calls.every((c) => c[0].tmplIds.length <= 3)).toBe(true)
  })

  test('duplicates are asked once; every answer is recorded as WeChat gave it', async () => {
    const { requests } = mockWx([ok({ left: {} }, 201)])
    wx.requestSubscribeMessage = jest.fn(({ success }) => success({ t1: 'ban', t2: 'filter', errMsg: 'ok' }))
    const comp = prompt(['t1', 't1', 't2'])
    comp.querySelector('.ask').dispatchEvent('tap')
    await settle()
    expect(wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['t1', 't2'])
    expect(requests[0].data).toEqual({ results: { t1: 'ban', t2: 'filter' } })
    expect(text(comp, 'message')).toBe('没有开启提醒，可以再点一次开启')
  })

  test("WeChat refusing the popup is said in Chinese, and the backend's refusal too", async () => {
    mockWx([refused(400, 'subscription_template_unknown', '不认识的消息模板。')])
    wx.requestSubscribeMessage = jest.fn(({ fail }) => fail({ errMsg: 'requestSubscribeMessage:fail', errCode: 20004 }))
    const comp = prompt(['t1'])
    comp.querySelector('.ask').dispatchEvent('tap')
    await settle()
    expect(text(comp, 'message')).toBe('没能打开消息订阅，请在微信“设置 → 通知”中允许后再试。')
    wx.requestSubscribeMessage = jest.fn(({ success }) => success({ t1: 'accept' }))
    comp.querySelector('.ask').dispatchEvent('tap')
    await settle()
    expect(text(comp, 'message')).toBe('不认识的消息模板。')
  })
})

describe('pages/staff/index', () => {
  test('binding: a fresh wx.login code with the 8 digits; the account named', async () => {
    const { page, requests } = (() => {
      const m = mockWx([ok({ staff: { display_name: '王网格', role: 'grid_worker', role_name: '网格员' } }, 201),
        ok({ left: {} }, 201)])
      return { page: render('pages/staff/index'), ...m }
    })()
    expect(all(page, 'status')).toHaveLength(0)
    page.instance.onCode({ detail: { value: '12345678' } })
    tap(page, 'bind')
    await settle()
    expect(wx.login).toHaveBeenCalled()
    expect(requests[0].data).toEqual({ code: 'code-0', bind_code: '12345678' })
    expect(requests[0].header.Authorization).toBeUndefined()
    expect(text(page, 'bound')).toContain('已绑定：王网格')
    expect(text(page, 'ask')).toBe('允许接收工作提醒')
    wx.requestSubscribeMessage = jest.fn(({ tmplIds, success }) => success(Object.fromEntries(tmplIds.map((id) => [id, 'accept']))))
    tap(page, 'ask')
    await settle()
    expect(wx.requestSubscribeMessage.mock.calls[0][0].tmplIds).toEqual(['xinma-topic-proposed', 'xinma-complaint-new-in-unit', 'xinma-complaint-note-added'])
    expect(requests[1].url).toMatch(/\/subscriptions$/)
    expect(text(page, 'message')).toBe('已开启微信消息提醒')
  })

  test("a wrong code: the API's message", async () => {
    mockWx([refused(400, 'bind_code_invalid', '绑定码不正确或已过期，请在工作台重新生成。')])
    const page = render('pages/staff/index')
    page.instance.onCode({ detail: { value: '00000000' } })
    tap(page, 'bind')
    await settle()
    expect(text(page, 'bind-error')).toBe('绑定码不正确或已过期，请在工作台重新生成。')
  })
})

describe('large-text mode', () => {
  test('the home page switch keeps the setting, and every page applies it', async () => {
    const { storage } = mockWx([])
    const home = render('pages/index/index')
    home.instance.onLoad({})
    expect(home.querySelector('.page').dom.className).not.toMatch(/large/)
    home.instance.toggleLarge({ detail: { value: true } })
    expect(storage.get('xinma_large_text')).toBe(true)
    expect(home.querySelector('.page').dom.className).toMatch(/large/)
    const pages = ['pages/report/index', 'pages/complaint/list', 'pages/complaint/detail', 'pages/topic/list',
      'pages/topic/detail', 'pages/meeting/list', 'pages/meeting/detail', 'pages/board/index', 'pages/staff/index']
    for (const p of pages) {
      const page = render(p)
      expect([p, page.querySelector('.page').dom.className]).toEqual([p, expect.stringMatching(/large/)])
    }
    storage.set('xinma_large_text', false)
    const page = render('pages/staff/index')
    expect(page.querySelector('.page').dom.className).not.toMatch(/large/)
  })

  test('a scan opening the home page goes on to the report page with the same code', () => {
    mockWx([])
    wx.redirectTo = jest.fn()
    const home = render('pages/index/index')
    home.instance.onLoad({ q: encodeURIComponent('https://xinma.example.gov.cn/q/tok-1'), scancode_time: '1' })
    expect(wx.redirectTo).toHaveBeenCalledWith({ url: `/pages/report/index?q=${encodeURIComponent('https://xinma.example.gov.cn/q/tok-1')}` })
    home.instance.onLoad({ scene: 'tok-2' })
    expect(wx.redirectTo).toHaveBeenLastCalledWith({ url: '/pages/report/index?scene=tok-2' })
  })
})
