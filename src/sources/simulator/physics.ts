/** One time step of the fleet's physics: jobs, IT loads, cooling, roll-up and grid signals. */
import type { FleetModel, JobModel, SimulatedSite } from './fleet-types.js';
import { hashPair, unitOf } from './prng.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const TWO_PI = 2 * Math.PI;
const COOLING_TAU_MS = 60_000;
const HERTZ_TAU_MS = 20_000;
const MEAN_HERTZ_EVENT_INTERVAL_MS = 30 * 60_000;
const MINUTE_MS = 60_000;

function hourOfDayUtc(tsMs: number): number {
  return (((tsMs % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS;
}

/** 1 at `peakHour`, 0 twelve hours away. */
function dailyCurve(hour: number, peakHour: number): number {
  return 0.5 + 0.5 * Math.cos((TWO_PI * (hour - peakHour)) / 24);
}

/** Gaussian bump on the 24 h circle. */
function bump(hour: number, centreHour: number, widthHours: number): number {
  let d = Math.abs(hour - centreHour) % 24;
  if (d > 12) d = 24 - d;
  const z = d / widthHours;
  return Math.exp(-0.5 * z * z);
}

function clamp(value: number, low: number, high: number): number {
  return value < low ? low : value > high ? high : value;
}

/** Square-ish iteration wave: 1 while computing, 0 while communicating, fast linear edges. */
function iterationWave(job: JobModel, tsMs: number): number {
  const t = (((tsMs - job.phaseMs) % job.periodMs) + job.periodMs) % job.periodMs;
  const dutyMs = job.periodMs * job.dutyFraction;
  if (t < job.edgeMs) return t / job.edgeMs;
  if (t < dutyMs) return 1;
  if (t < dutyMs + job.edgeMs) return 1 - (t - dutyMs) / job.edgeMs;
  return 0;
}

function startRun(job: JobModel, atMs: number, firstCheckpointMinMs: number): void {
  job.state = 'running';
  job.stateStartMs = atMs;
  job.runEndMs = atMs + job.rng.durationMs(20 * MINUTE_MS, 90 * MINUTE_MS);
  job.nextCheckpointMs = atMs + job.rng.durationMs(firstCheckpointMinMs, 6 * MINUTE_MS);
  job.stateEndMs = Math.max(atMs, Math.min(job.runEndMs, job.nextCheckpointMs));
}

function enter(job: JobModel, state: JobModel['state'], atMs: number, durationMs: number): void {
  job.state = state;
  job.stateStartMs = atMs;
  job.stateEndMs = atMs + durationMs;
}

/** Job lifecycle: run (with checkpoints every few minutes), ramp down, idle, ramp up, run. */
function advanceJob(job: JobModel, tsMs: number): void {
  if (Number.isNaN(job.stateEndMs)) startRun(job, tsMs, 90_000);
  while (tsMs >= job.stateEndMs) {
    const at = job.stateEndMs;
    switch (job.state) {
      case 'running':
        if (job.runEndMs <= job.nextCheckpointMs) enter(job, 'rampDown', at, job.rng.durationMs(15_000, 45_000));
        else enter(job, 'checkpoint', at, job.rng.durationMs(10_000, 30_000));
        break;
      case 'checkpoint':
        job.state = 'running';
        job.stateStartMs = at;
        job.nextCheckpointMs = at + job.rng.durationMs(3 * MINUTE_MS, 8 * MINUTE_MS);
        job.stateEndMs = Math.max(at, Math.min(job.runEndMs, job.nextCheckpointMs));
        break;
      case 'rampDown':
        enter(job, 'idle', at, job.rng.durationMs(MINUTE_MS, 6 * MINUTE_MS));
        break;
      case 'idle':
        enter(job, 'rampUp', at, job.rng.durationMs(20_000, 60_000));
        break;
      case 'rampUp':
        startRun(job, at, 2 * MINUTE_MS);
        break;
    }
  }
  const progress = clamp((tsMs - job.stateStartMs) / Math.max(1, job.stateEndMs - job.stateStartMs), 0, 1);
  job.wave = iterationWave(job, tsMs);
  switch (job.state) {
    case 'running':
      job.runWeight = 1;
      job.flatLevel = 0;
      break;
    case 'checkpoint':
      job.runWeight = 0;
      job.flatLevel = job.checkpointLevel;
      break;
    case 'rampDown':
      job.runWeight = 1 - progress;
      job.flatLevel = job.idleLevel;
      break;
    case 'idle':
      job.runWeight = 0;
      job.flatLevel = job.idleLevel;
      break;
    case 'rampUp':
      job.runWeight = progress;
      job.flatLevel = job.idleLevel;
      break;
  }
}

export function stepPhysics(fleet: FleetModel, tsMs: number, dtMs: number): void {
  for (const job of fleet.jobs) advanceJob(job, tsMs);
  for (const site of fleet.sites) {
    stepSiteLoads(fleet, site, tsMs, dtMs);
    stepGrid(site, tsMs, dtMs);
  }
}

function stepSiteLoads(fleet: FleetModel, site: SimulatedSite, tsMs: number, dtMs: number): void {
  const rng = site.physicsRng;
  const hour = hourOfDayUtc(tsMs);
  const diurnal = dailyCurve(hour, 15 + site.diurnalShiftHours);
  const trainingPhi = Math.exp(-dtMs / 120_000);
  const trainingKick = Math.sqrt(1 - trainingPhi * trainingPhi) * 0.02;
  const inferencePhi = Math.exp(-dtMs / 300_000);
  const inferenceKick = Math.sqrt(1 - inferencePhi * inferencePhi) * 0.05;
  const nodes = fleet.nodes;

  let itWatts = 0;
  for (const g of site.itLeaves) {
    const node = nodes[g];
    if (node === undefined) continue;
    let util: number;
    const partner = node.partner >= 0 ? nodes[node.partner] : undefined;
    if (partner !== undefined) {
      util = partner.utilization * node.partnerRatio;
    } else if (node.kind === 'training') {
      const job = fleet.jobs[node.job];
      const run = job === undefined ? 1 : job.runWeight;
      const wave = job === undefined ? 1 : job.wave;
      const flat = job === undefined ? 0 : job.flatLevel;
      node.drift = clamp(node.drift * trainingPhi + trainingKick * rng.gauss(), -0.08, 0.08);
      const level = run * (1 - node.swingFraction * (1 - wave)) + (1 - run) * flat;
      util = node.highUtil * level * (1 + node.drift + 0.01 * rng.gauss());
    } else {
      node.drift = clamp(node.drift * inferencePhi + inferenceKick * rng.gauss(), -0.15, 0.15);
      const base = node.lowUtil + (node.highUtil - node.lowUtil) * diurnal;
      util = base * (1 + node.drift + 0.02 * rng.gauss());
    }
    node.utilization = clamp(util, 0, 1);
    node.loadWatts = node.utilization * node.capWatts;
    itWatts += node.loadWatts;
  }

  // Cooling follows IT load through a first-order lag, scaled by outside temperature.
  const outside = site.tempMeanCelsius + site.tempAmplitudeCelsius * Math.cos((TWO_PI * (hour - 15)) / 24);
  const ratio = site.coolingBase + site.coolingPerCelsius * Math.max(0, outside - 10);
  if (Number.isNaN(site.filteredItWatts)) site.filteredItWatts = itWatts;
  else site.filteredItWatts += (itWatts - site.filteredItWatts) * (1 - Math.exp(-dtMs / COOLING_TAU_MS));
  const coolingTarget = site.filteredItWatts * ratio;
  let coolingWatts = 0;
  for (const g of site.coolingLeaves) {
    const node = nodes[g];
    if (node === undefined) continue;
    const share = site.coolingCapWatts > 0 ? node.capWatts / site.coolingCapWatts : 0;
    node.loadWatts = clamp(coolingTarget * share * (1 + 0.02 * rng.gauss()), 0, node.capWatts);
    node.utilization = node.capWatts > 0 ? node.loadWatts / node.capWatts : 0;
    coolingWatts += node.loadWatts;
  }

  // Roll-up: parents carry their children plus losses.
  for (const g of site.postOrder) {
    const node = nodes[g];
    if (node === undefined || node.children.length === 0) continue;
    let sum = 0;
    for (const c of node.children) sum += nodes[c]?.loadWatts ?? 0;
    let load = sum * (1 + node.lossFraction);
    if (g === site.implicitCoolingNode) {
      const implicit = coolingTarget * (1 + 0.02 * rng.gauss());
      load += implicit;
      coolingWatts += implicit;
    }
    node.loadWatts = Math.min(load, node.usableWatts);
    node.utilization = node.usableWatts > 0 ? node.loadWatts / node.usableWatts : 0;
  }
  site.itLeafWatts = itWatts;
  site.coolingWatts = coolingWatts;
  site.outsideCelsius = outside;
}

function stepGrid(site: SimulatedSite, tsMs: number, dtMs: number): void {
  const rng = site.gridRng;
  const phi = Math.exp(-dtMs / HERTZ_TAU_MS);
  const sigma = site.hertzSigma;
  site.hertzDeviation = clamp(
    site.hertzDeviation * phi + Math.sqrt(1 - phi * phi) * sigma * rng.gauss(),
    -4 * sigma,
    4 * sigma,
  );
  if (tsMs >= site.eventEndMs && rng.next() < dtMs / MEAN_HERTZ_EVENT_INTERVAL_MS) {
    site.eventStartMs = tsMs;
    site.eventEndMs = tsMs + rng.durationMs(10_000, 60_000);
    site.eventHertz = rng.range(0.1, 0.3) * (rng.next() < 0.7 ? -1 : 1);
  }
  let eventHertz = 0;
  if (tsMs < site.eventEndMs) {
    // Fast onset (first 10%), then a linear recovery.
    const x = (tsMs - site.eventStartMs) / (site.eventEndMs - site.eventStartMs);
    eventHertz = site.eventHertz * (x < 0.1 ? x / 0.1 : 1 - (x - 0.1) / 0.9);
  }
  site.hertz = site.nominalHertz + site.hertzDeviation + eventHertz;

  const hour = hourOfDayUtc(tsMs);
  site.volts = site.nominalVolts * (1 - 0.008 * dailyCurve(hour, 15) + 0.003 * rng.gauss());

  // Prices settle every 5 minutes, carbon intensity every 15: step functions of time.
  const priceNoise = unitOf(hashPair(site.seed, Math.floor(tsMs / (5 * MINUTE_MS)))) - 0.5;
  const solar = Math.max(0, Math.cos((TWO_PI * (hour - 13)) / 24));
  site.pricePerMWh =
    site.priceBasePerMWh * (0.6 + 0.5 * bump(hour, 18.5, 2.5) + 0.25 * bump(hour, 8, 1.5) - 0.2 * solar) * (1 + 0.2 * priceNoise);
  const carbonNoise = unitOf(hashPair(site.seed ^ 0x55aa, Math.floor(tsMs / (15 * MINUTE_MS)))) - 0.5;
  site.carbonGramsPerKWh =
    site.carbonBaseGramsPerKWh * (1 - 0.35 * solar * solar + 0.12 * bump(hour, 19, 2.5)) * (1 + 0.1 * carbonNoise);
}
