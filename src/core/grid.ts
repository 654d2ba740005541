import type { Reading } from '../domain/index.js';

/** Sample sums of grid signals in one window. */
export interface GridSums {
  hertzSum: number;
  hertzCount: number;
  voltsSum: number;
  voltsCount: number;
  priceSum: number;
  priceCount: number;
  carbonSum: number;
  carbonCount: number;
}

export function newGridSums(): GridSums {
  return { hertzSum: 0, hertzCount: 0, voltsSum: 0, voltsCount: 0, priceSum: 0, priceCount: 0, carbonSum: 0, carbonCount: 0 };
}

/** Adds a grid sensor's reading to its window's sample sums. */
export function addGrid(sums: GridSums, r: Reading): void {
  if (r.hertz !== undefined) {
    sums.hertzSum += r.hertz;
    sums.hertzCount++;
  }
  if (r.volts !== undefined) {
    sums.voltsSum += r.volts;
    sums.voltsCount++;
  }
  if (r.pricePerMWh !== undefined) {
    sums.priceSum += r.pricePerMWh;
    sums.priceCount++;
  }
  if (r.carbonGramsPerKWh !== undefined) {
    sums.carbonSum += r.carbonGramsPerKWh;
    sums.carbonCount++;
  }
}
