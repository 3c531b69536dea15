namespace Virt.Cpu.X87;

/// <summary>
/// Outcome of FCOM/FUCOM/FCOMI/FUCOMI/FTST/FICOM, in the order of Intel SDM Vol. 2A, FCOM table:
/// ST(0) &gt; source, ST(0) &lt; source, equal, unordered.
/// </summary>
internal enum X87CompareResult : byte
{
    Greater,
    Less,
    Equal,
    Unordered,
}
