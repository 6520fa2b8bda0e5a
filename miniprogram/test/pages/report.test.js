const { render, mockWx, ok, refused, settle, text } = require('./helpers')

const SCENE = { scene: 'tok-1', categories: ['设施维修', '环境卫生'], unit: { name: '梁堂村第一网格', full_name: '铜山区·张集镇·梁堂村·梁堂村第一网格', level: 'grid' } }

test('a mini-program code: loading, then the unit and the categories', async () => {
  const { requests } = mockWx([ok(SCENE)])
  const page = render('pages/report/index')
  page.instance.onLoad({ scene: 'tok-1' })
  expect(text(page, 'status')).toBe('正在加载…')
  await settle()
  expect(requests[0].url).toMatch(/\/scenes\/tok-1$/)
  expect(text(page, 'unit')).toContain('梁堂村第一网格')
  expect(page.data.categories).toEqual(['设施维修', '环境卫生'])
})
