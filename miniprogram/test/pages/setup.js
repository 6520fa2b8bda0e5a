// Every answer a page test queues must be shaped like the real API's (test/contract.js): the pages are tested on
// what the backend really sends.
const { contractProblems } = require('./helpers')

afterEach(() => {
  expect(contractProblems.splice(0)).toEqual([])
})
