// Answers shaped like the real ones (test/contract.js checks each answer a page test queues), to spread and
// override in the tests.
const UNIT = { name: '梁堂村第一网格', full_name: '铜山区·张集镇·梁堂村·梁堂村第一网格' }

const SCENE = { scene: 'tok-1', categories: ['设施维修', '环境卫生'], unit: { ...UNIT, level: 'grid' } }

const COMPLAINT = {
  id: 7, category: '设施维修', state: 'awaiting_triage', state_label: '已受理，等待分拣', text: '路灯坏了', reply: null,
  created_at: '2026-12-06T13:31:23+08:00', phone: null, location: null, photos: [], unit: UNIT,
  topic: null, meetings: [], decision: null, notes: [], can_add_note: true,
  timeline: [{ at: '2026-12-06T13:31:23+08:00', label: '您的反映已提交' }, { at: '2026-12-06T13:31:30+08:00', label: '已受理，等待网格员分拣' }],
}

const MEETING_BRIEF = { id: 5, title: '梁堂村19点议事厅', starts_at: '2026-12-08T19:00:00+08:00', place: '党群服务中心', state: 'upcoming', state_label: '待召开' }

const TOPIC = {
  id: 3, title: '梁堂村3组路灯维修', unit: '梁堂村', state: 'approved', state_label: '已审定', solution: null, reply: null,
  assignment: null, can_rate: false, my_ratings: [], state_changed_at: '2026-12-06T14:00:00+08:00', meetings: [],
}

const MEETING = {
  ...MEETING_BRIEF, form: 'forum', form_label: '议事会', held: false, held_at: null, open: true, capacity: 30,
  registered_count: 3, places_left: 27, registered: false, can_register: true, cancel_reason: null, minutes: null,
  topics: [{ id: 3, title: '梁堂村3组路灯维修', state: 'approved', state_label: '已审定', result: null, outcome: null, solution: null }],
}

const BOARD = { unit: '铜山区·张集镇·梁堂村', meetings: [], publications: [{ topic: '梁堂村3组路灯维修', kind: 'decision', kind_label: '决策公开', text: '议定更换6盏路灯', published_on: '2026-12-06', photos: [] }] }

module.exports = { UNIT, SCENE, COMPLAINT, MEETING_BRIEF, TOPIC, MEETING, BOARD }
