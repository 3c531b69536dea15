using Xunit;

namespace Virt.Run.Tests.Acceptance.CpuDifferential;

/// <summary>
/// Bare-metal kernels exercising 64-bit mode (<see cref="DiffKernel64"/>), run in Virt.Run and in qemu-system-x86_64
/// (TCG); both must print the same observations. Exclusions are listed per test with the Intel SDM section that decides
/// the point, and Virt's line is then asserted against the manual.
/// </summary>
[Trait("Category", "Acceptance")]
public sealed class CpuDifferential64Tests
{
    [Fact]
    public void LongModePagingMatchesQemu()
    {
        // L12-L15: reserved-bit faults. QEMU 7.2's TCG reports RSVD without P (8, 0Ah for a write); Intel SDM Vol. 3A, 4.7:
        // RSVD "can be set only if bit 0 is also set" (reserved bits are checked only in present entries): 9 and 0Bh.
        // L29 (the supervisor PDE of L25's walk, which failed its U/S check): whether a failed walk sets A is not specified
        // (SDM 4.8); Virt sets A only for walks that succeed, QEMU sets it in the directory entry. Virt's value is asserted.
        // L32: neither CPU claims PCID (L31 prints CPUID.1:ECX[17] = 0); QEMU 7.2 still lets MOV CR4 set PCIDE. SDM Vol. 2B,
        // MOV (control registers): a 1 in a reserved CR4 bit is #GP(0), and CR4.PCIDE is reserved without CPUID PCID (Vol. 2A,
        // CPUID, Table 3-10: "software may set CR4.PCIDE to 1" only when PCID = 1).
        (string[] virt, string[] qemu) = DiffRunner.Compare64(LongPagingKernel.Build(), "L12", "L13", "L14", "L15", "L29", "L32");
        Assert.Equal("L00 04000000 ", DiffRunner.Line(qemu, "L00")); // both support 1 GiB pages: the 1 GiB lines test them
        Assert.Equal("L00 04000000 ", DiffRunner.Line(virt, "L00"));
        Assert.Contains("X 0000000E 00000009 ", DiffRunner.Line(virt, "L12"));
        Assert.Contains("X 0000000E 0000000B ", DiffRunner.Line(virt, "L13"));
        Assert.Contains("X 0000000E 00000009 ", DiffRunner.Line(virt, "L14"));
        Assert.Contains("X 0000000E 00000009 ", DiffRunner.Line(virt, "L15"));
        Assert.Contains(" CR2 0000008000000000 ", DiffRunner.Line(virt, "L15"));
        Assert.Equal("L29 00000000001F3067 00000000001F4005 0000000000124003 00000000001F9007 80000000000000A5 ", DiffRunner.Line(virt, "L29"));
        Assert.StartsWith("L32 X 0000000D 00000000 ", DiffRunner.Line(virt, "L32"));
    }
}
