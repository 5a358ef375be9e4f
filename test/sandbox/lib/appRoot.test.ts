// The function app the sandbox serves: the deployable bundle unless SANDBOX_APP_ROOT names another folder.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_APP_ROOT, servedApp } from '../../../sandbox/lib/appRoot.js';

describe('servedApp', () => {
  it('is the bundle by default, resolved against the checkout', () => {
    expect(DEFAULT_APP_ROOT).toBe('dist/bundle');
    expect(servedApp('/repo', {})).toEqual({ name: 'dist/bundle', root: path.resolve('/repo/dist/bundle') });
    expect(servedApp('/repo', { SANDBOX_APP_ROOT: '' }).name).toBe('dist/bundle');
  });

  it('is the folder SANDBOX_APP_ROOT names, `.` for the compiler output package.json points at', () => {
    expect(servedApp('/repo', { SANDBOX_APP_ROOT: '.' })).toEqual({ name: '.', root: path.resolve('/repo') });
    expect(servedApp('/repo', { SANDBOX_APP_ROOT: 'elsewhere/app' }).root).toBe(
      path.resolve('/repo/elsewhere/app'),
    );
  });
});
