using Xunit;

namespace Virt.Run.Tests.Acceptance.CpuDifferential;

/// <summary>
/// Bare-metal kernels exercising 64-bit mode (<see cref="DiffKernel64"/>), run in Virt.Run and in qemu-system-x86_64
/// (TCG); both must print the same observations. Exclusions are listed per test with the Intel SDM section that decides
/// the point, and Virt's line is then asserted against the manual. Each test runs Virt.Run on both execution tiers
/// (<see cref="DiffRunner.Interpreter"/>, <see cref="DiffRunner.Compiled"/>) with the same assertions.
/// </summary>
[Trait("Category", "Acceptance")]
public sealed class CpuDifferential64Tests
{
    [Theory]
    [InlineData(DiffRunner.Interpreter)]
    [InlineData(DiffRunner.Compiled)]
    public void LongModePagingMatchesQemu(string tier)
    {
        // L12-L15: reserved-bit faults. QEMU 7.2's TCG reports RSVD without P (8, 0Ah for a write); Intel SDM Vol. 3A, 4.7:
        // RSVD "can be set only if bit 0 is also set" (reserved bits are checked only in present entries): 9 and 0Bh.
        // L29 (the supervisor PDE of L25's walk, which failed its U/S check): whether a failed walk sets A is not specified
        // (SDM 4.8); Virt sets A only for walks that succeed, QEMU sets it in the directory entry. Virt's value is asserted.
        // L32: neither CPU claims PCID (L31 prints CPUID.1:ECX[17] = 0); QEMU 7.2 still lets MOV CR4 set PCIDE. SDM Vol. 2B,
        // MOV (control registers): a 1 in a reserved CR4 bit is #GP(0), and CR4.PCIDE is reserved without CPUID PCID (Vol. 2A,
        // CPUID, Table 3-10: "software may set CR4.PCIDE to 1" only when PCID = 1).
        (string[] virt, string[] qemu) = DiffRunner.Compare64(tier, LongPagingKernel.Build(), "L12", "L13", "L14", "L15", "L29", "L32");
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

    [Theory]
    [InlineData(DiffRunner.Interpreter)]
    [InlineData(DiffRunner.Compiled)]
    public void LongModeTransfersMatchQemu(string tier)
    {
        // Where QEMU 7.2's TCG deviates from the Intel SDM (the lines are checked against the manual instead):
        //  M08: IRETQ to ring 3 with a non-canonical RIP. SDM Vol. 2A, IRET (RETURN-TO-OUTER-PRIVILEGE-LEVEL): "IF tempRIP is
        //       non-canonical THEN #GP(0)", before anything is loaded: #GP(0) at CPL 0 on the IRETQ. QEMU completes the
        //       return and faults on the fetch at CPL 3.
        //  M18: SYSRET with a non-canonical RCX. SDM Vol. 2B, SYSRET: "IF (RCX is not canonical) THEN #GP(0)" at CPL 0.
        //       QEMU returns to CPL 3 and faults on the fetch there (AMD's documented behaviour).
        //  M20: SYSCALL in compatibility mode. SDM Vol. 2B, SYSCALL: #UD unless CS.L = 1 (64-bit mode). QEMU goes through
        //       IA32_CSTAR (AMD's legacy-mode/compat SYSCALL), printing "cstar".
        //  M22, M23: a non-canonical address through RBP or RSP. SDM Vol. 3A, 6.15 (Interrupt 12) and Vol. 2B, PUSH:
        //       #SS(0) for a non-canonical stack reference. QEMU raises #GP(0).
        //  M24-M26: JMP/CALL/RET to a non-canonical target. SDM Vol. 2A, JMP/CALL and Vol. 2B, RET: #GP(0) "if the target
        //       operand is non-canonical": the branch faults (saved RIP = the branch, RSP as before a RET). QEMU branches
        //       and faults on the fetch (saved RIP = the target).
        //  M27, M30, M31: INT n through a failing gate: the error code names the gate as IDT index = vector (SDM Vol. 3A,
        //       6.13, Figure 6-9: index in bits 15:3, IDT flag bit 1), so vector*8+2 in IA-32e mode too. QEMU pushes
        //       vector*16+2 (the gate's byte offset plus 2).
        //  M34: SYSRET with R11 = all ones but TF. SDM Vol. 2B, SYSRET: RFLAGS = (R11 AND 3C7FD7h) OR 2, so RF and VM are
        //       cleared; QEMU loads VM (and RF) from R11 and the ring-3 code then faults.
        string[] virt = DiffRunner.Compare64(tier, LongModeKernel.Build(), "M08", "M18", "M20", "M22", "M23", "M24", "M25", "M26", "M27", "M30", "M31", "M34").Virt;
        Assert.StartsWith("M34 00000000003C7ED7 0000002B 00000023 X 00000040 ", DiffRunner.Line(virt, "M34"));
        foreach (string tag in new[] { "M08", "M18" })
        {
            string line = DiffRunner.Line(virt, tag);
            Assert.StartsWith(tag + " X 0000000D 00000000 00000000001", line); // at the IRETQ/SYSRET, still at CPL 0
            Assert.Contains(" 00000008 00000002 ", line);
        }

        Assert.StartsWith("M20 X 00000006 00000000 0000000000160600 0000001B ", DiffRunner.Line(virt, "M20"));
        Assert.StartsWith("M22 X 0000000C 00000000 ", DiffRunner.Line(virt, "M22"));
        Assert.StartsWith("M23 X 0000000C 00000000 ", DiffRunner.Line(virt, "M23"));
        foreach (string tag in new[] { "M24", "M25", "M26" })
        {
            string line = DiffRunner.Line(virt, tag);
            Assert.StartsWith(tag + " X 0000000D 00000000 00000000001", line); // the branch in the kernel's code, not the target
            Assert.Contains(" 00000008 00000002 000000000016FFF", line);
        }

        Assert.Contains(" 000000000016FFF0 ", DiffRunner.Line(virt, "M26")); // RET faulted before popping
        Assert.StartsWith("M27 X 0000000D 0000006A ", DiffRunner.Line(virt, "M27"));
        Assert.StartsWith("M30 X 0000000B 00000222 ", DiffRunner.Line(virt, "M30"));
        Assert.StartsWith("M31 X 0000000D 0000022A ", DiffRunner.Line(virt, "M31"));
    }

    [Theory]
    [InlineData(DiffRunner.Interpreter)]
    [InlineData(DiffRunner.Compiled)]
    public void SseFloatingPointMatchesQemu(string tier)
    {
        // Where QEMU 7.2's TCG deviates from the Intel SDM (checked against the manual instead):
        //  S30-S33 (DIVPS, lane 3 a denormal), S60A-S63A (SQRTSD of a denormal): with DAZ = 0 a denormal source sets
        //       MXCSR.DE (SDM Vol. 1, 11.5.2.2, and 4.9.1.2). QEMU never sets DE for SSE; everything else on the line agrees,
        //       so Virt's line must be QEMU's with DE (bit 1) added to the MXCSR word.
        //  S80, S81: two NaN sources. SDM Vol. 1, 4.8.3.5, Table 4-7 (SSE column): the first source operand wins (quieted
        //       if an SNaN); QEMU applies the x87 rule (the QNaN, or the larger significand).
        //  S90-S94 (and their R lines): unmasked SIMD exceptions. SDM Vol. 1, 11.5.1 and Vol. 3A, 6.15 (interrupt 19):
        //       #XM with the destination unchanged, or #UD when CR4.OSXMMEXCPT = 0; QEMU never raises either and stores
        //       the masked result.
        //  S96: LDMXCSR with reserved bit 16 set is #GP(0) (SDM Vol. 2A, LDMXCSR); QEMU loads it silently.
        string[] denormal = ["S30", "S31", "S32", "S33", "S60A", "S61A", "S62A", "S63A"];
        string[] unmasked = ["S90", "S90R", "S91", "S91R", "S92", "S92R", "S93", "S93R", "S94", "S94R"];
        (string[] virt, string[] qemu) = DiffRunner.Compare64(tier, SseKernel.Build(), [.. denormal, "S80", "S81", .. unmasked, "S96"]);
        foreach (string tag in denormal)
        {
            string[] q = DiffRunner.Line(qemu, tag).Split(' ');
            q[^2] = (Convert.ToUInt32(q[^2], 16) | 2).ToString("X8", System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(string.Join(' ', q), DiffRunner.Line(virt, tag));
        }

        // S80: ADDPS (SNaN 1, QNaN 2, 1.0, QNaN 3) + (1.0, SNaN 4, QNaN 5, QNaN -6): quieted SNaN 1, QNaN 2 (first source),
        // QNaN 5, QNaN 3 (first source); S81 swaps the sources: SNaN 1 quieted, SNaN 4 quieted (first), QNaN 5, QNaN -6. IE.
        Assert.Equal("S80 7FC000027FC00001 7FC000037FC00005 1111222233334444 00001F81 NF", DiffRunner.Line(virt, "S80"));
        Assert.Equal("S81 7FC000047FC00001 FFC000067FC00005 1111222233334444 00001F81 NF", DiffRunner.Line(virt, "S81"));

        // Unmasked: #XM; the destination keeps the first source; pre-computation flags only when one of them is unmasked.
        foreach (string tag in new[] { "S90", "S91", "S92", "S93" })
        {
            Assert.StartsWith(tag + " X 00000013 00000000 ", DiffRunner.Line(virt, tag));
        }

        Assert.Equal("S90R BF8000003F800000 3FC0000040400000 00000FA0 ", DiffRunner.Line(virt, "S90R"));    // PE
        Assert.Equal("S91R 3F8000003F800000 000116C200000000 00001D87 ", DiffRunner.Line(virt, "S91R"));    // IE|DE|ZE
        Assert.Equal("S92R BFF0000000000000 4010000000000000 00001F01 ", DiffRunner.Line(virt, "S92R"));    // IE
        Assert.Equal("S93R 4415AF1D78B58C40 0000000000000000 00001F01 ", DiffRunner.Line(virt, "S93R"));    // IE
        Assert.StartsWith("S94 X 00000006 00000000 ", DiffRunner.Line(virt, "S94"));
        Assert.Equal("S94R BF8000003F800000 3FC0000040400000 00000FA0 ", DiffRunner.Line(virt, "S94R"));
        Assert.StartsWith("S96 X 0000000D 00000000 ", DiffRunner.Line(virt, "S96"));
    }
}
