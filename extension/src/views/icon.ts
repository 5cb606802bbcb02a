/**
 * The serverless panel's icon: a lambda over three bars (invocations), in
 * the theme's icon color.
 */
import { LabIcon } from '@jupyterlab/ui-components';

const SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M4 2.5h4.4l6.9 14.7 2-.8.7 1.9-3.8 1.5-4.2-9-4.3 9H3.4l5.3-11.2L7.5 4.5H4z"/>
    <rect x="15" y="3" width="6" height="2" rx="1"/>
    <rect x="17" y="7" width="4" height="2" rx="1"/>
    <rect x="16" y="11" width="5" height="2" rx="1"/>
  </g>
</svg>`;

/** The icon of the serverless panel and its commands. */
export const serverlessIcon = new LabIcon({ name: 'jupyterlab-serverless:serverless', svgstr: SVG });
