// TypeScript declarations of widget-monitor (index.js), and the wire schema of its events.
//
// Written in a small subset that tests/sdk/test_declarations.py parses and checks against the
// server's event schema (analytics/ingest/events.py, as the app's OpenAPI publishes it): type
// names, field names, optionality and primitive types. The subset: `/** */` and `//` comments;
// `export interface Name [extends Base] { field[?]: type; ... }` with no nested braces;
// `export type Name = type;`; `export const name: type;`; `export function name(params): type;`.
// A metric field's type is a union of number, string, boolean, 'literal', Date or an interface.

/** An event's `type`: which of the nine metrics its `metric` is. */
export type EventType = 'persistence' | 'restoration' | 'navigation' | 'render' | 'scroll' | 'memory' | 'tabSync' | 'api' | 'bundle';

/**
 * Fields every metric may carry. The SDK sets customerId and widgetVersion (from init), eventId,
 * tabId and seq itself: what a tracker is given there is ignored.
 */
export interface MetricBase {
  /** When it happened: a Date, an ISO 8601 string or epoch milliseconds (default: now). */
  timestamp?: Date | string | number;
  /** Default: one per tab, kept across its page loads (or init's sessionId). */
  sessionId?: string;
  customerId?: string;
  widgetVersion?: string;
  eventId?: string;
  tabId?: string;
  seq?: number;
}

export interface PersistenceMetadata {
  messageCount?: number;
  storageType?: string;
  /** bytes */
  dataSize?: number;
}

/** A save, restore, sync, delete or clear of the conversation's storage. */
export interface PersistenceMetric extends MetricBase {
  operation: 'save' | 'restore' | 'sync' | 'delete' | 'clear';
  success: boolean;
  /** milliseconds */
  duration: number;
  conversationId?: string;
  errorType?: string;
  errorMessage?: string;
  dataLoss?: boolean;
  metadata?: PersistenceMetadata;
}

/** The conversation restored at page load. */
export interface RestorationMetric extends MetricBase {
  success: boolean;
  /** milliseconds */
  duration: number;
  messagesRestored?: number;
}

/** A page change of the host site, with or without the conversation kept. */
export interface NavigationMetric extends MetricBase {
  success: boolean;
  dataPreserved: boolean;
  /** milliseconds */
  duration: number;
  fromPage?: string;
  toPage?: string;
}

/** One message rendered. */
export interface RenderMetric extends MetricBase {
  /** milliseconds */
  renderTime: number;
  messageId?: string;
  contentLength?: number;
  hasMarkdown?: boolean;
  hasCodeBlocks?: boolean;
}

/** One scroll gesture, timed frame by frame. */
export interface ScrollMetric extends MetricBase {
  /** frames per second */
  avgFps: number;
  minFps?: number;
  /** share of frames over 20 ms, 0 to 100 */
  jankPercentage?: number;
  frameCount?: number;
  scrollHeight?: number;
  messageCount?: number;
}

/** A sample of performance.memory (Chromium), in bytes. */
export interface MemoryMetric extends MetricBase {
  usedJSHeapSize: number;
  totalJSHeapSize?: number;
  jsHeapSizeLimit?: number;
}

/** A sync between the widget's tabs; latency is half the round trip. */
export interface TabSyncMetric extends MetricBase {
  /** milliseconds */
  latency: number;
  success?: boolean;
  operation?: string;
  tabCount?: number;
}

/** One API call of the widget. */
export interface ApiMetric extends MetricBase {
  /** milliseconds */
  duration: number;
  success: boolean;
  endpoint?: string;
  method?: string;
  status?: number;
  cached?: boolean;
}

/** A script or stylesheet loaded. */
export interface BundleMetric extends MetricBase {
  /** milliseconds */
  loadTime: number;
  name?: string;
  /** bytes */
  size?: number;
  cached?: boolean;
}

export interface PersistenceEvent {
  type: 'persistence';
  metric: PersistenceMetric;
}

export interface RestorationEvent {
  type: 'restoration';
  metric: RestorationMetric;
}

export interface NavigationEvent {
  type: 'navigation';
  metric: NavigationMetric;
}

export interface RenderEvent {
  type: 'render';
  metric: RenderMetric;
}

export interface ScrollEvent {
  type: 'scroll';
  metric: ScrollMetric;
}

export interface MemoryEvent {
  type: 'memory';
  metric: MemoryMetric;
}

export interface TabSyncEvent {
  type: 'tabSync';
  metric: TabSyncMetric;
}

export interface ApiEvent {
  type: 'api';
  metric: ApiMetric;
}

export interface BundleEvent {
  type: 'bundle';
  metric: BundleMetric;
}

/** One event as the SDK posts it: a body is a JSON array of them. */
export type WidgetEvent = PersistenceEvent | RestorationEvent | NavigationEvent | RenderEvent | ScrollEvent | MemoryEvent | TabSyncEvent | ApiEvent | BundleEvent;

/** The settings of init() (docs/sdk.md); all optional. */
export interface InitOptions {
  /** Where the batches go; default: /api/monitoring/widget on the page's origin. */
  endpoint?: string;
  /** The customer's public ingest key (wmk_...), sent as ?key= on every request. */
  key?: string;
  customerId?: string;
  widgetVersion?: string;
  sessionId?: string;
  /** Share of tabs that report, decided once per tab (default 1). */
  sampleRate?: number;
  /** false: nothing at all is set up, every function a no-op (default true). */
  enabled?: boolean;
  flushIntervalMs?: number;
  batchSize?: number;
  maxQueue?: number;
  maxBatchBytes?: number;
  maxRetryDelayMs?: number;
  memoryIntervalMs?: number;
  tabSyncIntervalMs?: number;
  tabSyncTimeoutMs?: number;
  bundles?: boolean;
  bundleFilter?: (entry: PerformanceResourceTiming) => boolean;
  debug?: boolean;
}

/** getStats() of an SDK that is not running (before init, disabled, sampled out, shut down). */
export interface DisabledStats {
  enabled: false;
}

/** getStats() of a running SDK: counts since init. */
export interface EnabledStats {
  enabled: true;
  tabId: string;
  sessionId: string;
  seq: number;
  queued: number;
  peers: number;
  /** 0, or the status (401, 403) with which the server refused the ingest key. */
  keyRejected: number;
  tracked: number;
  sent: number;
  dropped: number;
  rejected: number;
  invalid: number;
  retries: number;
  beacons: number;
  errors: number;
}

export type Stats = DisabledStats | EnabledStats;

export interface TabSyncResult {
  latency: number;
  success: boolean;
  tabCount: number;
}

export interface ObserveScrollOptions {
  /** Milliseconds without a scroll event that end a gesture (default 150). */
  idleMs?: number;
  messageCount?: number | (() => number);
}

/** The SDK's version. */
export const version: string;

/** Start monitoring; the first call wins. Nothing touches a browser global before it. */
export function init(options?: InitOptions): void;

/** Send what is queued, then stop every listener, timer and observer. */
export function shutdown(): void;

/** Send what is queued now; resolves when the request settles. */
export function flush(): Promise<void | null>;

export function getStats(): Stats;

export function isEnabled(): boolean;

export function trackPersistence(metric: PersistenceMetric): void;

export function trackRestoration(metric: RestorationMetric): void;

export function trackNavigation(metric: NavigationMetric): void;

export function trackRender(metric: RenderMetric): void;

export function trackScroll(metric: ScrollMetric): void;

export function trackTabSync(metric: TabSyncMetric): void;

export function trackApi(metric: ApiMetric): void;

export function trackBundle(metric: BundleMetric): void;

/** Sample performance.memory now (Chromium; nothing elsewhere). */
export function trackMemory(): void;

export function startScrollMonitoring(): void;

/** Stop the frame timer and send one scroll event (none if no frame was timed). */
export function stopScrollMonitoring(scrollHeight?: number, messageCount?: number): void;

/** Time every scroll gesture on `element`; returns a function that stops observing. */
export function observeScroll(element: Element, options?: ObserveScrollOptions): () => void;

/** Ping the widget's other tabs; null with no other tab open. */
export function measureTabSync(): Promise<TabSyncResult | null>;

/** fetch(), timed: records duration, status, success and whether a cache answered. */
export function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
