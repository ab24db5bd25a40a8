/** FedYogi: see `../fedopt/index.ts` for the formulas (Reddi et al. 2021, Algorithm 2). */
export { fedyogi, FedOptOptionsSchema } from '../fedopt/index.js';
export type { FedOptOptions, FedOptState } from '../fedopt/index.js';
