using System.Reflection;
using FsCheck.Xunit;
using Iced.Intel;
using Virt.Cpu.Simd;
using Virt.Memory;
using Xunit;

namespace Virt.Cpu.Tests.Execution;

/// <summary>
/// The wiring of the integer SIMD family: every register-to-register "op= source" form, MMX and XMM, run through the CPU on
/// random operands must give what the <see cref="PackedInteger"/> function of the same name gives (those functions are
/// checked against the host's instructions in Simd/PackedIntegerTests.cs). A Code routed to the wrong function, or an MMX
/// form that loses the upper half, shows up here.
/// </summary>
public sealed class SimdIntegerDispatchTests
{
    private const uint Data = 0x2000;
    private const ulong Cr4Osfxsr = 1UL << 9;

    private delegate void BinaryOp(Span<byte> d, ReadOnlySpan<byte> s);

    private sealed record Form(Code Code, BinaryOp Op, bool Mmx);

    private static readonly Form[] s_forms = BuildForms();

    private static Form[] BuildForms()
    {
        var forms = new List<Form>();
        foreach (Code code in Enum.GetValues<Code>())
        {
            string name = code.ToString();
            bool mmx = name.EndsWith("_mm_mmm64", StringComparison.Ordinal);
            if (!mmx && !name.EndsWith("_xmm_xmmm128", StringComparison.Ordinal))
            {
                continue;
            }

            string mnemonic = name[..name.IndexOf('_', StringComparison.Ordinal)];
            MethodInfo? method = typeof(PackedInteger).GetMethod(mnemonic, BindingFlags.Public | BindingFlags.Static, [typeof(Span<byte>), typeof(ReadOnlySpan<byte>)]);
            if (method is not null)
            {
                forms.Add(new Form(code, method.CreateDelegate<BinaryOp>(), mmx));
            }
        }

        return [.. forms];
    }

    [Fact]
    public void The_table_covers_both_widths()
    {
        // 60 operations have an MMX and an XMM form, 19 more an XMM form only (PUNPCKLxx mm take m32: not in this table).
        Assert.True(s_forms.Count(f => f.Mmx) >= 55, $"{s_forms.Count(f => f.Mmx)} MMX forms");
        Assert.True(s_forms.Count(f => !f.Mmx) >= 75, $"{s_forms.Count(f => !f.Mmx)} XMM forms");
    }

    [Property(MaxTest = 15)]
    public void Every_form_runs_its_operation(ulong a0, ulong a1, ulong b0, ulong b1)
    {
        var m = new CpuHarness();
        foreach (Form form in s_forms)
        {
            int size = form.Mmx ? 8 : 16;
            m.Memory.WriteQuadWord(new PhysicalAddress(Data), a0);
            m.Memory.WriteQuadWord(new PhysicalAddress(Data + 8), a1);
            m.Memory.WriteQuadWord(new PhysicalAddress(Data + 16), b0);
            m.Memory.WriteQuadWord(new PhysicalAddress(Data + 24), b1);
            m.Load(a =>
            {
                if (form.Mmx)
                {
                    a.movq(AssemblerRegisters.mm2, AssemblerRegisters.__qword_ptr[Data]);
                    a.movq(AssemblerRegisters.mm5, AssemblerRegisters.__qword_ptr[Data + 16]);
                    a.AddInstruction(Instruction.Create(form.Code, Register.MM2, Register.MM5));
                    a.movq(AssemblerRegisters.__qword_ptr[Data + 32], AssemblerRegisters.mm2);
                }
                else
                {
                    a.movdqa(AssemblerRegisters.xmm2, AssemblerRegisters.__xmmword_ptr[Data]);
                    a.movdqa(AssemblerRegisters.xmm5, AssemblerRegisters.__xmmword_ptr[Data + 16]);
                    a.AddInstruction(Instruction.Create(form.Code, Register.XMM2, Register.XMM5));
                    a.movdqa(AssemblerRegisters.__xmmword_ptr[Data + 32], AssemblerRegisters.xmm2);
                }

                a.hlt();
            });
            m.Cpu.Cr4 = Cr4Osfxsr;
            m.Cpu.Run(100);

            byte[] expected = new byte[16];
            byte[] source = new byte[16];
            BitConverter.TryWriteBytes(expected.AsSpan(0, 8), a0);
            BitConverter.TryWriteBytes(expected.AsSpan(8, 8), a1);
            BitConverter.TryWriteBytes(source.AsSpan(0, 8), b0);
            BitConverter.TryWriteBytes(source.AsSpan(8, 8), b1);
            form.Op(expected.AsSpan(0, size), source.AsSpan(0, size));
            byte[] actual = new byte[size];
            m.Memory.Read(new PhysicalAddress(Data + 32), actual);
            Assert.True(expected.AsSpan(0, size).SequenceEqual(actual), $"{form.Code}: expected {Convert.ToHexString(expected, 0, size)}, got {Convert.ToHexString(actual)}");
        }
    }
}
