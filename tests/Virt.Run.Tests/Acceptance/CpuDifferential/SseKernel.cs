using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests.Acceptance.CpuDifferential;

/// <summary>
/// Differential kernel 9: SSE/SSE2 floating point in 64-bit mode (Intel SDM Vol. 1, 10.2.3, 11.5 and 4.8.3): results and
/// MXCSR exception flags of ADDSS, MULSD, DIVPS, CVTSD2SI, CVTTSS2SI and SQRTSD in all four rounding modes, denormal
/// operands and results with DAZ and FTZ, NaN propagation and the default NaN, unmasked exceptions as #XM, and #UD in its
/// place with CR4.OSXMMEXCPT clear (Vol. 3A, 2.5 and 6.15, interrupt 19); #UD without CR4.OSFXSR, #NM with CR0.TS, #GP for
/// reserved MXCSR bits.
/// </summary>
internal static class SseKernel
{
    private const uint MxcsrIn = DiffKernel64.Scratch;
    private const uint MxcsrOut = DiffKernel64.Scratch + 4;
    private const uint Constants = DiffKernel64.Vars + 0x800; // 16-byte aligned 128-bit constants
    private const uint MasksAll = 0x1F80;
    private const uint Daz = 1u << 6;
    private const uint Ftz = 1u << 15;
    private const uint Precision = 1u << 12;   // PM
    private const uint ZeroDivide = 1u << 9;   // ZM
    private const uint Invalid = 1u << 7;      // IM
    private const int RoundingShift = 13;
    private const int Cr4OsFxsr = 1 << 9;
    private const int Cr4OsXmmExcpt = 1 << 10;

    private static uint F(float f) => BitConverter.SingleToUInt32Bits(f);

    private static ulong D(double d) => BitConverter.DoubleToUInt64Bits(d);

    public static byte[] Build() => DiffKernel64.Build(k =>
    {
        Assembler a = k.A;
        uint next = Constants;

        uint Const(ulong low, ulong high = 0x5A5A5A5A_A5A5A5A5)
        {
            uint at = next;
            k.Poke64(at, low);
            k.Poke64(at + 8, high);
            next += 16;
            return at;
        }

        uint Const4(uint l0, uint l1, uint l2, uint l3) => Const(l0 | ((ulong)l1 << 32), l2 | ((ulong)l3 << 32));

        void PrintXmm1()
        {
            a.movq(rdx, xmm1);
            k.P(rdx);
            a.movdqa(xmm3, xmm1);
            a.psrldq(xmm3, 8);
            a.movq(rdx, xmm3);
            k.P(rdx);
        }

        // Loads MXCSR and the operands, runs the instruction (which writes xmm1 or RAX) and prints xmm1, RAX and MXCSR.
        void Case(string tag, uint mxcsr, uint src1, uint src2, Action op)
        {
            k.Expect(tag, () =>
            {
                a.mov(__dword_ptr[MxcsrIn], (int)mxcsr);
                a.ldmxcsr(__dword_ptr[MxcsrIn]);
                a.movaps(xmm1, __xmmword_ptr[src1]);
                a.movaps(xmm2, __xmmword_ptr[src2]);
                a.mov(rax, 0x1111_2222_3333_4444);
                op();
                PrintXmm1();
                k.P(rax);
                a.stmxcsr(__dword_ptr[MxcsrOut]);
                k.PM32(__qword_ptr[MxcsrOut]);
            });
        }

        // After an exception: what xmm1 and MXCSR hold (the destination is not written, SDM Vol. 1, 11.5.1 and 11.5.3).
        void After(string tag)
        {
            k.Str(tag + " ");
            PrintXmm1();
            a.stmxcsr(__dword_ptr[MxcsrOut]);
            k.PM32(__qword_ptr[MxcsrOut]);
            k.Str("\n");
        }

        a.mov(rax, cr0);
        a.and(eax, ~0x0C); // EM and TS off
        a.or(eax, 0x02);   // MP
        a.mov(cr0, rax);
        a.mov(rax, cr4);
        a.or(eax, Cr4OsFxsr | Cr4OsXmmExcpt);
        a.mov(cr4, rax);

        // MXCSR_MASK from FXSAVE (SDM Vol. 1, 11.6.6): which MXCSR bits the CPU supports (DAZ among them).
        a.fxsave(__[DiffKernel64.Scratch + 0x400]);
        k.Str("S00 ");
        k.PM32(__qword_ptr[DiffKernel64.Scratch + 0x400 + 0x1C]);
        k.Str("\n");

        uint one = Const4(F(1.0f), F(-1.0f), F(3.0f), F(1.5f));
        uint tiny = Const4(F(MathF.ScaleB(1, -30)), F(-MathF.ScaleB(1, -30)), F(MathF.ScaleB(1, -30)), F(0.1f));
        uint big = Const(D(double.MaxValue), D(-1.0));
        uint two = Const(D(2.0), D(3.0));
        uint divA = Const4(F(1.0f), F(1.0f), F(0.0f), BitConverter.SingleToUInt32Bits(1e-40f));
        uint divB = Const4(F(3.0f), F(0.0f), F(0.0f), F(3.0f));
        uint halves = Const(D(2.5), D(-2.5));
        uint minusHalves = Const(D(-2.5), D(2.5));
        uint huge = Const(D(1e20), 0);
        uint singles = Const4(F(-2.7f), F(2.7f), F(float.NaN), F(3e9f));
        uint nanF = Const4(0x7FC00000, 0, 0, 0);
        uint bigF = Const4(F(3e9f), 0, 0, 0);
        uint denormD = Const(1UL, D(4.0));
        uint negD = Const(D(-1.0), D(4.0));
        uint smallD = Const(D(1e-160), D(1.0));
        uint nansA = Const4(0x7F800001, 0x7FC00002, F(1.0f), 0x7FC00003);
        uint nansB = Const4(F(1.0f), 0x7F800004, 0x7FC00005, 0xFFC00006);
        uint zero = Const(0, 0);

        for (int rc = 0; rc < 4; rc++)
        {
            uint m = MasksAll | (uint)(rc << RoundingShift);
            string r = rc.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Case($"S1{r}A", m, one, tiny, () => a.addss(xmm1, xmm2));
            Case($"S1{r}B", m, one, tiny, () => a.addps(xmm1, xmm2));
            Case($"S2{r}A", m, big, two, () => a.mulsd(xmm1, xmm2));
            Case($"S2{r}B", m, big, big, () => a.mulpd(xmm1, xmm2));
            Case($"S3{r}", m, divA, divB, () => a.divps(xmm1, xmm2));
            Case($"S4{r}A", m, halves, zero, () => a.cvtsd2si(eax, xmm1));
            Case($"S4{r}B", m, minusHalves, zero, () => a.cvtsd2si(rax, xmm1));
            Case($"S4{r}C", m, huge, zero, () => a.cvtsd2si(eax, xmm1));
            Case($"S4{r}D", m, huge, zero, () => a.cvtsd2si(rax, xmm1));
            Case($"S5{r}A", m, singles, zero, () => a.cvttss2si(eax, xmm1));
            Case($"S5{r}B", m, nanF, zero, () => a.cvttss2si(rax, xmm1));
            Case($"S5{r}C", m, bigF, zero, () => a.cvttss2si(eax, xmm1));
            Case($"S6{r}A", m, denormD, zero, () => a.sqrtsd(xmm1, xmm1));
            Case($"S6{r}B", m | Daz, denormD, zero, () => a.sqrtsd(xmm1, xmm1));
            Case($"S6{r}C", m, negD, zero, () => a.sqrtsd(xmm1, xmm1));
            Case($"S7{r}A", m, smallD, smallD, () => a.mulsd(xmm1, xmm2));
            Case($"S7{r}B", m | Ftz, smallD, smallD, () => a.mulsd(xmm1, xmm2));
            Case($"S7{r}C", m | Ftz | Daz, denormD, two, () => a.mulsd(xmm1, xmm2));
            Case($"SA{r}A", m, one, zero, () => a.cvtsi2ss(xmm1, rax));   // RAX = 1111222233334444h: inexact
            Case($"SA{r}B", m, one, zero, () => a.cvtsi2sd(xmm1, rax));
            Case($"SA{r}C", m, big, zero, () => a.cvtpd2ps(xmm1, xmm1));  // DBL_MAX, -1: overflow
            Case($"SA{r}D", m, smallD, zero, () => a.cvtsd2ss(xmm1, xmm1)); // 1e-160: underflow to 0
        }

        // NaN operands (SDM Vol. 1, 4.8.3.5, Table 4-7): an SNaN is quieted, with two NaNs the first source wins.
        Case("S80", MasksAll, nansA, nansB, () => a.addps(xmm1, xmm2));
        Case("S81", MasksAll, nansB, nansA, () => a.mulps(xmm1, xmm2));

        // MAXPS/MINPS return the second source for a NaN or two zeros (SDM Vol. 2B, MAXPS); COMISS signals IE for a QNaN,
        // UCOMISS only for an SNaN (Vol. 2A, COMISS; Vol. 2B, UCOMISS); the flags they set: ZF, PF, CF = 1 unordered.
        uint maxA = Const4(F(float.NaN), F(1.0f), 0x00000000, 0x80000000);
        uint maxB = Const4(F(1.0f), 0x7FC00009, 0x80000000, 0x00000000);
        uint snanF = Const4(0x7F800001, 0, 0, 0);
        Case("S82", MasksAll, maxA, maxB, () => a.maxps(xmm1, xmm2));
        Case("S83", MasksAll, maxA, maxB, () => a.minps(xmm1, xmm2));
        foreach ((string tag, uint src, bool signalling) in new[] { ("S84", nanF, true), ("S85", nanF, false), ("S86", snanF, false), ("S87", one, true) })
        {
            Case(tag, MasksAll, src, one, () =>
            {
                a.push(0x8D5); // set every status flag, so the instruction's clearing shows
                a.popfq();
                if (signalling)
                {
                    a.comiss(xmm1, xmm2);
                }
                else
                {
                    a.ucomiss(xmm1, xmm2);
                }

                a.pushfq();
                a.pop(rax);
            });
        }

        Case("S88", MasksAll, snanF, zero, () => a.cvtss2sd(xmm1, xmm1)); // SNaN: quieted, IE

        // Unmasked exceptions: #XM, the destination unchanged (SDM Vol. 1, 11.5.1), the flag set.
        Case("S90", MasksAll & ~Precision, one, tiny, () => a.addss(xmm1, xmm2));
        After("S90R");
        Case("S91", MasksAll & ~ZeroDivide, divA, divB, () => a.divps(xmm1, xmm2));
        After("S91R");
        Case("S92", MasksAll & ~Invalid, negD, zero, () => a.sqrtsd(xmm1, xmm1));
        After("S92R");
        Case("S93", MasksAll & ~Invalid, huge, zero, () => a.cvtsd2si(eax, xmm1));
        After("S93R");

        // CR4.OSXMMEXCPT = 0: an unmasked SIMD exception is #UD instead (SDM Vol. 3A, 2.5).
        a.mov(rax, cr4);
        a.and(eax, ~Cr4OsXmmExcpt);
        a.mov(cr4, rax);
        Case("S94", MasksAll & ~Precision, one, tiny, () => a.addss(xmm1, xmm2));
        After("S94R");
        Case("S95", MasksAll, one, tiny, () => a.addss(xmm1, xmm2)); // masked: no exception

        // LDMXCSR with a reserved bit: #GP(0) (SDM Vol. 2A, LDMXCSR).
        k.Expect("S96", () =>
        {
            a.mov(__dword_ptr[MxcsrIn], 0x10000 | (int)MasksAll);
            a.ldmxcsr(__dword_ptr[MxcsrIn]);
        });

        // CR0.TS: #NM; CR0.EM: #UD; CR4.OSFXSR clear: #UD (SDM Vol. 3A, 2.5 and Table 13-... of Vol. 1, 13.1).
        a.mov(rax, cr0);
        a.or(eax, 0x08);
        a.mov(cr0, rax);
        k.Expect("S97", () => a.addss(xmm1, xmm2));
        a.clts();
        a.mov(rax, cr0);
        a.or(eax, 0x04);
        a.mov(cr0, rax);
        k.Expect("S98", () => a.addss(xmm1, xmm2));
        a.mov(rax, cr0);
        a.and(eax, ~0x04);
        a.mov(cr0, rax);
        a.mov(rax, cr4);
        a.and(eax, ~Cr4OsFxsr);
        a.mov(cr4, rax);
        k.Expect("S99", () => a.addss(xmm1, xmm2));
    });
}
