// The list pages and the board: loading, then empty, the API's error (with a retry), or their rows.
const { render, mockWx, ok, refused, settle, all, text, shown, tap } = require('./helpers')

const { COMPLAINT, TOPIC, BOARD, MEETING: FULL_MEETING } = require('./fixtures')

const MEETING = { ...FULL_MEETING, registered: true }
const SUBSCRIPTIONS = ok({ left: {}, waiting: {}, resubscribe: [] })

const cases = [
  { page: 'pages/complaint/list', before: [SUBSCRIPTIONS], rows: [COMPLAINT], cls: 'complaint', row: '路灯坏了', empty: '您还没有反映过问题', url: /\/complaints$/ },
  { page: 'pages/topic/list', before: [], rows: [TOPIC], cls: 'topic', row: '梁堂村3组路灯维修', empty: '还没有转为协商议题', url: /\/my\/topics$/ },
  { page: 'pages/meeting/list', before: [], rows: [MEETING], cls: 'meeting', row: '2026-12-08 19:00 · 党群服务中心', empty: '暂时没有与您有关的议事会', url: /\/my\/meetings$/ },
  { page: 'pages/board/index', before: [], rows: BOARD, cls: 'publication', row: '议定更换6盏路灯', empty: '这里还没有公开的内容', url: /\/boards\/tok-1$/, query: { scene: 'tok-1' }, none: { ...BOARD, publications: [] } },
]

describe.each(cases)('$page', (c) => {
  const open = () => {
    const page = render(c.page)
    page.instance.onLoad(c.query || {})
    return page
  }

  test('loading, then its rows', async () => {
    const { requests } = mockWx([...c.before, ok(c.rows)])
    const page = open()
    expect(text(page, 'status')).toBe('正在加载…')
    await settle()
    expect(requests.map((r) => r.url).some((u) => c.url.test(u))).toBe(true)
    expect(requests.every((r) => r.header.Authorization === 'Bearer token-1')).toBe(true)
    expect(all(page, c.cls)).toHaveLength(1)
    expect(shown(page)).toContain(c.row)
    expect(all(page, 'status')).toHaveLength(0)
  })

  test('empty', async () => {
    mockWx([...c.before, ok(c.none || [])])
    const page = open()
    await settle()
    expect(text(page, 'status')).toContain(c.empty)
    expect(all(page, c.cls)).toHaveLength(0)
  })

  test("the API's error, then a retry that works", async () => {
    mockWx([...c.before, refused(503, 'wechat_unavailable', '微信服务暂时不可用，请稍后再试。'), ...c.before, ok(c.rows)])
    const page = open()
    await settle()
    expect(text(page, 'message')).toBe('微信服务暂时不可用，请稍后再试。')
    tap(page, 'retry')
    await settle()
    expect(shown(page)).toContain(c.row)
  })

  test('a network failure says so in Chinese', async () => {
    mockWx([...c.before, null])
    const page = open()
    await settle()
    expect(text(page, 'message')).toBe('网络连接失败，请检查网络后重试。')
  })
})

test('the board lists the open meetings to come, each leading to its page', async () => {
  mockWx([ok({ ...BOARD, meetings: [{ ...FULL_MEETING, unit: '梁堂村' }], publications: [] })])
  const page = render('pages/board/index')
  page.instance.onLoad({ scene: 'tok-1' })
  await settle()
  expect(all(page, 'open-meeting')).toHaveLength(1)
  expect(shown(page)).toContain('梁堂村19点议事厅')
  expect(shown(page)).toContain('2026-12-08 19:00 · 梁堂村 · 党群服务中心')
  expect(all(page, 'status')).toHaveLength(0)
})

test('the board without a scanned code asks for a scan and calls nothing', async () => {
  const { requests } = mockWx([])
  const page = render('pages/board/index')
  page.instance.onLoad({})
  await settle()
  expect(text(page, 'status')).toBe('请先扫描社区公示牌上的心码。')
  expect(requests).toHaveLength(0)
})

test('my complaints offer to subscribe again when messages wait for a subscription', async () => {
  mockWx([ok({ left: { 'xinma-complaint-triaged': 0 }, waiting: { 'xinma-complaint-triaged': 2 }, resubscribe: ['xinma-complaint-triaged'] }), ok([COMPLAINT])])
  const page = render('pages/complaint/list')
  page.instance.onLoad({})
  await settle()
  expect(text(page, 'resubscribe')).toContain('有 2 条办理消息因没有开启提醒未能送达')
  expect(text(page, 'ask')).toBe('重新开启消息提醒')
})
