/** Prints rows of strings as an aligned text table. */
export function printTable(rows: ReadonlyArray<Record<string, string>>): void {
  const columns = Object.keys(rows[0] ?? {});
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: string[]) => `  ${cells.map((cell, index) => cell.padEnd(widths[index]!)).join("  │  ")}`;
  console.log(line(columns));
  console.log(`  ${widths.map((width) => "─".repeat(width)).join("──┼──")}`);
  for (const row of rows) console.log(line(columns.map((column) => row[column] ?? "")));
}
