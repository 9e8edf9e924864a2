/**
 * The app's icons: 24×24 outline glyphs drawn with a 1.75 stroke in `currentColor`, each a list
 * of SVG path data. Drawn for QuantLab (no icon font, nothing fetched: the CSP forbids it anyway).
 */
function circle(cx: number, cy: number, r: number): string {
  return `M${cx - r} ${cy}a${r} ${r} 0 1 0 ${2 * r} 0a${r} ${r} 0 1 0 ${-2 * r} 0`;
}

function rect(x: number, y: number, w: number, h: number, r: number): string {
  return `M${x + r} ${y}h${w - 2 * r}a${r} ${r} 0 0 1 ${r} ${r}v${h - 2 * r}a${r} ${r} 0 0 1 ${-r} ${r}h${-(w - 2 * r)}a${r} ${r} 0 0 1 ${-r} ${-r}v${-(h - 2 * r)}a${r} ${r} 0 0 1 ${r} ${-r}z`;
}

export const icons = {
  logo: ['M5 20v-5', 'M10 20V9', 'M15 20v-8', 'M20 20V4', 'M3 20h18'],
  models: ['M12 2.8 20.5 7.5v9L12 21.2 3.5 16.5v-9z', 'M3.5 7.5 12 12.2l8.5-4.7', 'M12 12.2v9'],
  datasets: [
    'M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3z',
    'M4 6v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6',
    'M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3',
  ],
  experiments: ['M9 3h6', 'M10 3v6.2L4.6 18.4A1.8 1.8 0 0 0 6.2 21h11.6a1.8 1.8 0 0 0 1.6-2.6L14 9.2V3', 'M7.2 15h9.6'],
  compare: ['M3 3v18h18', circle(8, 15, 1.4), circle(11.5, 10.5, 1.4), circle(16.5, 7, 1.4), circle(15.5, 14.5, 1.4)],
  devices: [rect(6.5, 2.5, 11, 19, 2.2), 'M11 18h2'],
  reports: ['M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z', 'M14 3v5h5', 'M9 13h6', 'M9 17h4'],
  system: ['M3 12h4l2.5-6.5 5 13 2.5-6.5h4'],
  sun: [circle(12, 12, 4), 'M12 2v2', 'M12 20v2', 'M4.9 4.9l1.4 1.4', 'M17.7 17.7l1.4 1.4', 'M2 12h2', 'M20 12h2', 'M4.9 19.1l1.4-1.4', 'M17.7 6.3l1.4-1.4'],
  moon: ['M20.5 13.4A8.5 8.5 0 1 1 10.6 3.5a6.6 6.6 0 0 0 9.9 9.9z'],
  monitor: [rect(2.5, 3.5, 19, 13, 2), 'M8 21h8', 'M12 16.5V21'],
  folder: ['M3 7a2 2 0 0 1 2-2h4.2l2 2H19a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z'],
  check: ['M5 12.5l4.5 4.5L19 7.5'],
  cross: ['M6.5 6.5l11 11', 'M17.5 6.5l-11 11'],
  warning: ['M10.3 4.1 2.6 17.5A2 2 0 0 0 4.3 20.5h15.4a2 2 0 0 0 1.7-3L13.7 4.1a2 2 0 0 0-3.4 0z', 'M12 9.5v4', 'M12 17h.01'],
  info: [circle(12, 12, 9), 'M12 11v5', 'M12 8h.01'],
  refresh: ['M20.5 12a8.5 8.5 0 1 1-2.5-6l2.5 2.5', 'M20.5 3.5v5h-5'],
  copy: [rect(9, 9, 12, 12, 2), 'M5 15H4.5A1.5 1.5 0 0 1 3 13.5v-9A1.5 1.5 0 0 1 4.5 3h9A1.5 1.5 0 0 1 15 4.5V5'],
  terminal: ['M4.5 17l5.5-5-5.5-5', 'M12 19h7.5'],
  unplugged: ['M9 7V2.5', 'M15 7V2.5', 'M6 7h12v4a6 6 0 0 1-12 0z', 'M12 17v4.5', 'M3 3l18 18'],
  compass: [circle(12, 12, 9), 'M15.5 8.5l-2 5-5 2 2-5z'],
  search: [circle(10.5, 10.5, 6.5), 'M15.5 15.5 20.5 20.5'],
  chevronLeft: ['M14.5 6l-6 6 6 6'],
  chevronRight: ['M9.5 6l6 6-6 6'],
  chevronsLeft: ['M12 6l-6 6 6 6', 'M18 6l-6 6 6 6'],
  chevronsRight: ['M6 6l6 6-6 6', 'M12 6l6 6-6 6'],
  arrowLeft: ['M19 12H5', 'M11 6l-6 6 6 6'],
  sortAsc: ['M12 19V5', 'M6.5 10.5 12 5l5.5 5.5'],
  sortDesc: ['M12 5v14', 'M6.5 13.5 12 19l5.5-5.5'],
  sortNone: ['M8 9.5l4-4 4 4', 'M8 14.5l4 4 4-4'],
  trash: ['M4 7h16', 'M9.5 7V4.5h5V7', 'M6.5 7l1 12.5a1.5 1.5 0 0 0 1.5 1.5h6a1.5 1.5 0 0 0 1.5-1.5l1-12.5', 'M10 11v6', 'M14 11v6'],
  tag: ['M3.5 12.6V4.5a1 1 0 0 1 1-1h8.1l8 8a1.4 1.4 0 0 1 0 2l-7.1 7.1a1.4 1.4 0 0 1-2 0z', circle(8, 8, 1.3)],
  stop: [circle(12, 12, 9), 'M9.5 9.5h5v5h-5z'],
  plus: ['M12 5v14', 'M5 12h14'],
} satisfies Record<string, readonly string[]>;

export type IconName = keyof typeof icons;
