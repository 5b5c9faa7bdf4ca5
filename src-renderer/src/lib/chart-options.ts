// What every chart in the lab shares: no animation (live updates stay cheap), sized by its
// container, data given as {x, y} points so Chart.js skips parsing.
export const baseChartOptions = {
  animation: false,
  responsive: true,
  maintainAspectRatio: false,
  parsing: false,
} as const;
