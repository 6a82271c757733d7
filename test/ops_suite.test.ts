// The op test suite: every case runs on every backend in backendsUnderTest (test/helpers/backends.ts).
// Cases live in test/helpers/cases/, one file per family of ops; PyTorch fixtures in test/fixtures/ops.

import { after } from 'node:test';
import { runOnBackends } from './helpers/suite.js';
import { worstErrors, FIXTURE_RTOL } from './helpers/fixtures.js';
import { creationCases } from './helpers/cases/creation.js';
import { viewCases } from './helpers/cases/views.js';
import { elementwiseCases } from './helpers/cases/elementwise.js';
import { reduceCases } from './helpers/cases/reduce.js';
import { linalgCases } from './helpers/cases/linalg.js';
import { nnCases } from './helpers/cases/nn.js';
import { rowCases } from './helpers/cases/rows.js';
import { indexingCases } from './helpers/cases/indexing.js';
import { fusedCases } from './helpers/cases/fused.js';
import { attentionCases } from './helpers/cases/attention.js';
import { fixtureCases } from './helpers/cases/fixtures.js';
import { autogradCases } from './helpers/cases/autograd.js';

runOnBackends('ops', {
  creation: creationCases,
  views: viewCases,
  elementwise: elementwiseCases,
  reductions: reduceCases,
  'matmul and indexing': linalgCases,
  nn: nnCases,
  'row kernels': rowCases,
  indexing: indexingCases,
  'fused kernels': fusedCases,
  attention: attentionCases,
  autograd: autogradCases,
  'pytorch fixtures': fixtureCases,
});

after(() => {
  const rows = [...worstErrors].map(([op, e]) => `${op} ${e.toExponential(2)}`).join(', ');
  if (rows) console.log(`# largest relative error per fixture (tolerance ${FIXTURE_RTOL}): ${rows}`);
});
