using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests.Acceptance.CpuDifferential;

/// <summary>
/// Differential kernel 6: prints CPUID leaves 0, 1, 80000000h and 80000001h, one line each: "Lxxxxxxxx EAX EBX ECX EDX".
/// The two CPU models differ by design, so the test compares only what the suite relies on (see the test).
/// </summary>
internal static class CpuidKernel
{
    public static readonly uint[] Leaves = [0, 1, 0x80000000, 0x80000001];

    public static byte[] Build() => DiffKernel.Build(k =>
    {
        Assembler a = k.A;
        foreach (uint leaf in Leaves)
        {
            k.Str($"L{leaf:X8} ");
            a.mov(eax, leaf);
            a.xor(ecx, ecx);
            a.cpuid();
            k.P(eax);
            k.P(ebx);
            k.P(ecx);
            k.P(edx);
            k.Str("\n");
        }
    });

    /// <summary>The four registers printed for <paramref name="leaf"/>.</summary>
    public static uint[] Registers(string[] lines, uint leaf) =>
        DiffRunner.Line(lines, $"L{leaf:X8}").Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..5].Select(w => Convert.ToUInt32(w, 16)).ToArray();
}
