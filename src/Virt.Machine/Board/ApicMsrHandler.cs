using Virt.Cpu;
using Virt.Devices;

namespace Virt.Machine;

/// <summary>
/// The local APIC's MSRs for the CPU: IA32_APIC_BASE (1Bh), IA32_TSC_DEADLINE (6E0h) and, when the APIC supports
/// x2APIC mode, the x2APIC registers 800h-8FFh (#GP(0) outside x2APIC mode, Intel SDM Vol. 3A, 11.12.1.2); every other
/// MSR goes to the handler the host gave in its <see cref="CpuOptions"/>, if any.
/// </summary>
internal sealed class ApicMsrHandler(LocalApic apic, IMsrHandler? next) : IMsrHandler
{
    private const uint TimestampCounterMsr = 0x10;

    /// <summary>The CPU, for the TSC a deadline is measured against; set once the CPU exists.</summary>
    public Virt.Cpu.Cpu? Cpu { get; set; }

    public bool TryRead(uint index, out ulong value)
    {
        switch (index)
        {
            case LocalApic.ApicBaseMsrIndex:
                value = apic.ApicBaseMsr;
                return true;
            case LocalApic.TscDeadlineMsrIndex:
                value = apic.ReadTscDeadline();
                return true;
            case >= LocalApic.X2ApicFirstMsr and <= LocalApic.X2ApicLastMsr when apic.X2ApicSupported:
                return apic.TryReadX2ApicMsr(index, out value);
            default:
                value = 0;
                return next?.TryRead(index, out value) ?? false;
        }
    }

    public bool TryWrite(uint index, ulong value)
    {
        switch (index)
        {
            case LocalApic.ApicBaseMsrIndex:
                return apic.TryWriteApicBaseMsr(value);
            case LocalApic.TscDeadlineMsrIndex:
                // Reading the TSC through the CPU also brings the clock up to the current instruction.
                ulong tsc = 0;
                Cpu?.TryReadMsr(TimestampCounterMsr, out tsc);
                apic.WriteTscDeadline(value, tsc);
                return true;
            case >= LocalApic.X2ApicFirstMsr and <= LocalApic.X2ApicLastMsr when apic.X2ApicSupported:
                return apic.TryWriteX2ApicMsr(index, value);
            default:
                return next?.TryWrite(index, value) ?? false;
        }
    }
}
