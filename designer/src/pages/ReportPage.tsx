export function ReportPage({ reportRef }: { reportRef: string }) {
  return <main className="page">{reportRef}</main>;
}
