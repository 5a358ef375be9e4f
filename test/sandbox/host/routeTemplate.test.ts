// Route templates as ASP.NET Core (and so the Functions host) parses and matches them.
import { describe, expect, it } from 'vitest';
import { comparePrecedence, matchRoute, parseRouteTemplate } from '../../../sandbox/host/routeTemplate.js';

const match = (template: string, path: string) => matchRoute(parseRouteTemplate(template), path);

describe('matchRoute', () => {
  it.each([
    ['items/{id}', 'items/42', { id: '42' }],
    ['items/{id}', 'ITEMS/42/', { id: '42' }],
    ['items/{id?}', 'items', {}],
    ['items/{id=7}', 'items', { id: '7' }],
    ['items/{id:int}', 'items/-12', { id: '-12' }],
    ['items/{id:int?}', 'items', {}],
    ['files/{*path}', 'files/a/b%20c.txt', { path: 'a/b c.txt' }],
    ['files/{*path}', 'files', {}],
    ['items/{id}', 'items/a%2Fb', { id: 'a%2Fb' }],
    ['items/{id}', 'items/caf%C3%A9', { id: 'café' }],
    ['v/{n:range(1,5)}', 'v/5', { n: '5' }],
    ['v/{s:length(2,3)}', 'v/abc', { s: 'abc' }],
    ['v/{s:regex(^[a-z]+-\\d+$)}', 'v/Ab-12', { s: 'Ab-12' }],
    ['v/{b:bool}', 'v/True', { b: 'True' }],
    ['v/{x:double}', 'v/1.5e3', { x: '1.5e3' }],
    ['v/{g:guid}', 'v/0F8FAD5BD9CB469FA16570867728950E', { g: '0F8FAD5BD9CB469FA16570867728950E' }],
  ])('%s matches %s', (template, path, values) => {
    expect(match(template, path)).toEqual(values);
  });

  it.each([
    ['items/{id}', 'items'],
    ['items/{id}', 'items/1/2'],
    ['items/{id}', 'other/1'],
    ['items/{id:int}', 'items/1.5'],
    ['items/{id:int}', 'items/2147483648'],
    ['items/{id:long}', 'items/x'],
    ['v/{n:range(1,5)}', 'v/6'],
    ['v/{n:min(10)}', 'v/9'],
    ['v/{s:alpha}', 'v/ab1'],
    ['v/{s:maxlength(2)}', 'v/abc'],
    ['v/{g:guid}', 'v/not-a-guid'],
    ['v/{b:bool}', 'v/yes'],
  ])('%s does not match %s', (template, path) => {
    expect(match(template, path)).toBeUndefined();
  });
});

describe('parseRouteTemplate', () => {
  it.each([
    ['d/{day:datetime}', 'route constraint "datetime" is not supported'],
    ['d/{x:madeup}', 'route constraint "madeup" is not supported'],
    ['d/{a}-{b}', 'complex segment "{a}-{b}" is not supported'],
    ['d/{*rest}/x', 'a catch-all parameter must be the last segment'],
    ['d/{a?}/x', 'an optional parameter must be at the end'],
    ['d/{1bad}', 'is not a valid route parameter'],
  ])('refuses %s', (template, message) => {
    expect(() => parseRouteTemplate(template)).toThrow(message);
  });

  it('orders literals before constrained parameters before plain parameters before catch-alls', () => {
    const templates = ['x/{*rest}', 'x/{id}', 'x/{id:int}', 'x/list'].map(parseRouteTemplate);

    const ordered = [...templates].sort(comparePrecedence).map((t) => t.template);

    expect(ordered).toEqual(['x/list', 'x/{id:int}', 'x/{id}', 'x/{*rest}']);
  });
});
