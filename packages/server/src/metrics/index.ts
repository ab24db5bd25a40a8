export { FedMetrics, SESSION_STATES, type MetricSources, type MetricTotals } from './metrics.js';
export { controllerMetrics, countModelDownloads, roundSeconds } from './controller-metrics.js';
export { listenMetrics, registerMetricsRoute, type MetricsListen } from './route.js';
