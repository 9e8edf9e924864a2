/**
 * The one place that says which ECharts parts the renderer bundles (tree-shaken through
 * `echarts/core`). A view that needs another series type or component adds it here. Both
 * renderers are registered: SVG is BaseChart's default, canvas is for dense heatmaps.
 */
import { ScatterChart, type ScatterSeriesOption } from 'echarts/charts';
import {
  GraphicComponent,
  GridComponent,
  TooltipComponent,
  type GraphicComponentOption,
  type GridComponentOption,
  type TooltipComponentOption,
} from 'echarts/components';
import { init, use, type ComposeOption } from 'echarts/core';
import { CanvasRenderer, SVGRenderer } from 'echarts/renderers';

use([ScatterChart, GridComponent, TooltipComponent, GraphicComponent, SVGRenderer, CanvasRenderer]);

/** Options built only from the registered parts: using an unregistered one fails type-checking. */
export type ChartOption = ComposeOption<ScatterSeriesOption | GridComponentOption | TooltipComponentOption | GraphicComponentOption>;

export type ChartRenderer = 'svg' | 'canvas';

/** An ECharts theme made of the current CSS custom properties (styles/theme.css). */
export function themeFromCss(element: Element): Record<string, unknown> {
  const css = getComputedStyle(element);
  const read = (name: string) => css.getPropertyValue(name).trim();
  const text = read('--chart-text');
  const axis = read('--chart-axis');
  const grid = read('--chart-grid');
  const axisStyle = {
    axisLine: { lineStyle: { color: axis } },
    axisTick: { lineStyle: { color: axis } },
    axisLabel: { color: text },
    splitLine: { lineStyle: { color: grid } },
    nameTextStyle: { color: text },
  };
  return {
    color: [1, 2, 3, 4, 5, 6].map((i) => read(`--chart-${i}`)),
    backgroundColor: 'transparent',
    textStyle: { color: text, fontFamily: read('--font-ui'), fontSize: 12 },
    valueAxis: axisStyle,
    categoryAxis: axisStyle,
    logAxis: axisStyle,
    timeAxis: axisStyle,
    tooltip: {
      backgroundColor: read('--color-bg-raised'),
      borderColor: read('--color-border-strong'),
      textStyle: { color: read('--color-text') },
    },
  };
}

export { init };
