/** The output formats of a render: a module of its own so a command's help can list them without loading the renderer. */
export const OUTPUT_FORMATS = ['html', 'pdf', 'xlsx', 'csv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
