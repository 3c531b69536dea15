namespace Virt.Cpu;

/// <summary>The public view of the SSE state: XMM0-XMM15, MXCSR and XCR0.</summary>
public sealed partial class Cpu
{
    /// <summary>The number of XMM registers (XMM8-XMM15 are reachable only in 64-bit mode).</summary>
    public const int XmmRegisterCount = 16;

    /// <summary>MXCSR, the SSE control and status register. Setting it does not check the reserved bits (LDMXCSR does).</summary>
    public uint Mxcsr
    {
        get => _ctx.Mxcsr;
        set => _ctx.Mxcsr = value;
    }

    /// <summary>XCR0, the extended feature enable register (bit 0 x87, bit 1 SSE).</summary>
    public ulong Xcr0 => _ctx.Xcr0;

    /// <summary>Reads XMM register <paramref name="index"/> (lane 0 in the low bits).</summary>
    /// <param name="index">0-15.</param>
    /// <returns>The register's 128 bits.</returns>
    public UInt128 GetXmm(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, XmmRegisterCount);
        return _ctx.Xmm[index];
    }

    /// <summary>Writes XMM register <paramref name="index"/>.</summary>
    /// <param name="index">0-15.</param>
    /// <param name="value">The register's 128 bits (lane 0 in the low bits).</param>
    public void SetXmm(int index, UInt128 value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, XmmRegisterCount);
        _ctx.Xmm[index] = value;
    }

    private ulong[] SimdSaveRegisters()
    {
        ulong[] quadwords = new ulong[XmmRegisterCount * 2];
        for (int i = 0; i < XmmRegisterCount; i++)
        {
            quadwords[2 * i] = (ulong)_ctx.Xmm[i];
            quadwords[(2 * i) + 1] = (ulong)(_ctx.Xmm[i] >> 64);
        }

        return quadwords;
    }

    private void SimdRestoreRegisters(IReadOnlyList<ulong>? quadwords)
    {
        for (int i = 0; i < XmmRegisterCount; i++)
        {
            _ctx.Xmm[i] = quadwords is null ? UInt128.Zero : new UInt128(quadwords[(2 * i) + 1], quadwords[2 * i]);
        }
    }
}
