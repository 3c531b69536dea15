using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// Privilege checks shared by the instruction families: CPL 0 for system instructions, IOPL for CLI/STI/IN/OUT, the TSS
/// I/O permission bitmap (Intel SDM Vol. 1, 19.5), and which EFLAGS bits POPF may change at the current privilege.
/// </summary>
public sealed partial class Cpu
{
    /// <summary>Instructions reserved to CPL 0 raise #GP(0) elsewhere in protected mode (Intel SDM Vol. 3A, 5.9).</summary>
    private bool RequireCpl0()
    {
        if (_ctx.Cpl != 0 && (_ctx.Cr0 & Cr0Bits.Pe) != 0)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return false;
        }

        return true;
    }

    /// <summary>CLI and STI need CPL &lt;= IOPL in protected mode (Intel SDM Vol. 2A, CLI, without the PVI extension).</summary>
    private bool CheckIopl()
    {
        if ((_ctx.Cr0 & Cr0Bits.Pe) != 0 && _ctx.Cpl > (int)((_ctx.Eflags >> EflagsBits.IoplShift) & 3))
        {
            RaiseFault(VectorGeneralProtection, 0);
            return false;
        }

        return true;
    }

    /// <summary>
    /// Port access in protected mode with CPL &gt; IOPL consults the I/O permission bitmap of the 32-bit TSS: every bit of the
    /// accessed ports must be clear, and the bitmap bytes read must lie within the TSS limit (Intel SDM Vol. 1, 19.5.2).
    /// </summary>
    private bool CheckIoPermission(ushort port, int size)
    {
        if (_ioBreakpointsArmed)
        {
            CheckIoBreakpoints(port, size);
        }

        // Virtual-8086 mode always consults the bitmap, whatever IOPL (Intel SDM Vol. 1, 19.5.2; Vol. 3A, 20.2.8.1).
        if ((_ctx.Cr0 & Cr0Bits.Pe) == 0 || (_ctx.Cpl <= (int)((_ctx.Eflags >> EflagsBits.IoplShift) & 3) && (_ctx.Eflags & EflagsBits.Vm) == 0))
        {
            return true;
        }

        if (_ctx.TrSelector != 0 && (_ctx.TrAttributes & 0xF) is 9 or 11 && _ctx.TrLimit >= 0x67)
        {
            uint bitmap = (uint)ReadSystem(_ctx.TrBase + 0x66, 2);
            uint byteOffset = bitmap + (uint)(port >> 3);
            if (byteOffset + 1 <= _ctx.TrLimit)
            {
                uint bits = (uint)ReadSystem(_ctx.TrBase + byteOffset, 2);
                uint mask = ((1u << size) - 1) << (port & 7);
                if ((bits & mask) == 0)
                {
                    return true;
                }
            }
        }

        RaiseFault(VectorGeneralProtection, 0);
        return false;
    }

    /// <summary>POPF in protected mode: IOPL changes only at CPL 0 and IF only at CPL &lt;= IOPL (Intel SDM Vol. 2B, POPF).</summary>
    private uint PopfPrivilegeMask()
    {
        if ((_ctx.Cr0 & Cr0Bits.Pe) == 0)
        {
            return 0xFFFF_FFFF;
        }

        uint mask = 0xFFFF_FFFF;
        if (_ctx.Cpl > 0)
        {
            mask &= ~0x3000u;
        }

        if (_ctx.Cpl > (int)((_ctx.Eflags >> EflagsBits.IoplShift) & 3))
        {
            mask &= ~EflagsBits.If;
        }

        return mask;
    }
}
