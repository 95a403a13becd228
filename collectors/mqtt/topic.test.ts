import { describe, expect, it } from 'vitest';
import { compileFilter, fillTemplate, highestPlaceholder } from './topic.js';

describe('mqtt topic filters', () => {
  it.each([
    { filter: 'tracereport/+/+', topic: 'tracereport/EXT-L1-01/melt_pressure', captures: ['EXT-L1-01', 'melt_pressure'] },
    { filter: 'tracereport/+/+', topic: 'tracereport/EXT-L1-01', captures: undefined },
    { filter: 'tracereport/+/+', topic: 'tracereport/EXT-L1-01/melt_pressure/extra', captures: undefined },
    { filter: 'plant/#', topic: 'plant/L1/EXT/pressure', captures: ['L1/EXT/pressure'] },
    { filter: 'plant/#', topic: 'plant', captures: [''] },
    { filter: 'plant/+/x/#', topic: 'plant/L1/x/a/b', captures: ['L1', 'a/b'] },
    { filter: 'a/b', topic: 'a/b', captures: [] },
    { filter: 'a/b', topic: 'a/c', captures: undefined },
    { filter: '+/status', topic: '$SYS/status', captures: undefined },
    { filter: '#', topic: '$SYS/broker/uptime', captures: undefined },
    { filter: '#', topic: 'x/y', captures: ['x/y'] },
    { filter: '+/+', topic: 'a//b', captures: undefined },
    { filter: '+/+/+', topic: 'a//b', captures: ['a', '', 'b'] },
  ])('$filter on $topic', ({ filter, topic, captures }) => {
    expect(compileFilter(filter).match(topic)).toEqual(captures);
  });

  it.each([
    { filter: 'a/#/b', error: /# must be a whole level and the last one/ },
    { filter: 'a/b#', error: /# must be a whole level/ },
    { filter: 'a/x+', error: /\+ must be a whole level/ },
    { filter: '', error: /must not be empty/ },
  ])('rejects $filter', ({ filter, error }) => {
    expect(() => compileFilter(filter)).toThrow(error);
  });

  it.each([
    { template: '{1}', captures: ['EXT'], out: 'EXT' },
    { template: 'EXT-{1}-{2}', captures: ['L1', '01'], out: 'EXT-L1-01' },
    { template: 'literal', captures: ['x'], out: 'literal' },
    { template: '{2}', captures: ['x'], out: undefined },
    { template: '{1}', captures: [''], out: undefined },
  ])('fills $template from $captures', ({ template, captures, out }) => {
    expect(fillTemplate(template, captures)).toBe(out);
  });

  it('finds the highest placeholder', () => {
    expect(highestPlaceholder('a{1}b{3}')).toBe(3);
    expect(highestPlaceholder('none')).toBe(0);
  });
});
