using Iced.Intel;
using Virt.Memory;
using Xunit;

namespace Virt.Cpu.Tests;

/// <summary>
/// The hint-NOP space 0F 18-0F 1F (Intel SDM Vol. 2D, Table A-3): every ModRM form, with or without 66h/F2h/F3h, executes as
/// a NOP on a CPU without CET and MPX (ENDBR32/ENDBR64 and RDSSP included) and never accesses its memory operand
/// (Vol. 2B, NOP). The memory forms here address DS:10000000h, beyond the real-mode limit: an access would be #GP.
/// </summary>
public sealed class HintNopTests
{
    private const ushort UdHandler = 0x2000;
    private const int InvalidOpcodeVector = 6;
    private const int GeneralProtectionVector = 13;
    private const uint Sentinel = 0x1234_5678;

    public static TheoryData<byte[]> NamedForms() => new()
    {
        new byte[] { 0xF3, 0x0F, 0x1E, 0xFB }, // ENDBR32
        new byte[] { 0xF3, 0x0F, 0x1E, 0xFA }, // ENDBR64 (outside 64-bit mode a NOP too)
        new byte[] { 0xF3, 0x0F, 0x1E, 0xC8 }, // RDSSPD EAX: a NOP with shadow stacks off, EAX unchanged
        new byte[] { 0x0F, 0x18, 0x06, 0xFF, 0xFF }, // PREFETCHNTA [FFFFh]
        new byte[] { 0x67, 0x0F, 0x18, 0x0D, 0x00, 0x00, 0x00, 0x10 }, // PREFETCHT0 [10000000h]
        new byte[] { 0x67, 0x0F, 0x18, 0x15, 0x00, 0x00, 0x00, 0x10 }, // PREFETCHT1 [10000000h]
        new byte[] { 0x67, 0x0F, 0x18, 0x1D, 0x00, 0x00, 0x00, 0x10 }, // PREFETCHT2 [10000000h]
        new byte[] { 0x66, 0x67, 0x0F, 0x1F, 0x05, 0x00, 0x00, 0x00, 0x10 }, // NOP DWORD [10000000h]
        new byte[] { 0x67, 0x0F, 0x1F, 0x44, 0x00, 0x00 }, // the 6-byte NOP compilers pad with (NOP [EAX+EAX+0])
        new byte[] { 0x67, 0x0F, 0x1A, 0x05, 0x00, 0x00, 0x00, 0x10 }, // BNDLDX form: a NOP without MPX
        new byte[] { 0x67, 0xF3, 0x0F, 0x1B, 0x05, 0x00, 0x00, 0x00, 0x10 }, // BNDMK form: a NOP without MPX
        new byte[] { 0x67, 0x0F, 0x1C, 0x05, 0x00, 0x00, 0x00, 0x10 }, // CLDEMOTE form: a NOP without CLDEMOTE
    };

    [Theory]
    [MemberData(nameof(NamedForms))]
    public void Named_hint_nops_do_nothing(byte[] code)
    {
        var m = new CpuHarness();
        AssertNop(m, code, code.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Every_modrm_form_and_prefix_of_0f18_to_0f1f_is_a_nop()
    {
        var m = new CpuHarness();
        byte[][] prefixes = [[], [0x66], [0xF3], [0xF2]];
        for (byte opcode = 0x18; opcode <= 0x1F; opcode++)
        {
            for (int reg = 0; reg < 8; reg++)
            {
                foreach (byte[] prefix in prefixes)
                {
                    // Register form (mod = 11, r/m = EAX) and memory form [10000000h] (67h, mod = 00, r/m = 101, disp32).
                    byte[] register = [.. prefix, 0x0F, opcode, (byte)(0xC0 | (reg << 3))];
                    byte[] memory = [0x67, .. prefix, 0x0F, opcode, (byte)(0x05 | (reg << 3)), 0x00, 0x00, 0x00, 0x10];
                    AssertNop(m, register, Convert.ToHexString(register));
                    AssertNop(m, memory, Convert.ToHexString(memory));
                }
            }
        }
    }

    [Fact]
    public void Lock_prefix_on_a_hint_nop_is_ud()
    {
        // NOP is not lockable (Intel SDM Vol. 2A, LOCK: #UD for any other instruction).
        var m = new CpuHarness();
        Run(m, [0xF0, 0x0F, 0x1F, 0x00]);
        Assert.Equal(InvalidOpcodeVector, m.Cpu.LastExceptionVector);
    }

    [Fact]
    public void A_load_beyond_the_limit_still_faults()
    {
        // The control for the tests above: the same address, read by MOV, is #GP (real-mode limit FFFFh, SDM Vol. 3A, 20.1.3).
        var m = new CpuHarness();
        Run(m, [0x67, 0x8B, 0x05, 0x00, 0x00, 0x00, 0x10]);
        Assert.Equal(GeneralProtectionVector, m.Cpu.LastExceptionVector);
    }

    private static void AssertNop(CpuHarness m, byte[] code, string name)
    {
        Run(m, code);
        Assert.True(m.Cpu.LastExceptionVector == -1, $"{name}: exception {m.Cpu.LastExceptionVector}");
        Assert.True(m.Cpu.Eip == CpuHarness.CodeOffset + (uint)code.Length + 1, $"{name}: EIP {m.Cpu.Eip:X}");
        Assert.True(m.Reg(GeneralRegister.Rax) == Sentinel, $"{name}: EAX {m.Reg(GeneralRegister.Rax):X}");
    }

    /// <summary>Runs <paramref name="code"/> then HLT with EAX = <see cref="Sentinel"/>; every vector leads to a HLT elsewhere.</summary>
    private static void Run(CpuHarness m, byte[] code)
    {
        m.Load(a => a.nop());
        for (int vector = 0; vector < 32; vector++)
        {
            m.Memory.WriteWord(new PhysicalAddress((ulong)vector * 4), UdHandler);
            m.Memory.WriteWord(new PhysicalAddress(((ulong)vector * 4) + 2), 0);
        }

        m.Memory.WriteByte(new PhysicalAddress(UdHandler), 0xF4);
        m.Memory.Write(new PhysicalAddress(CpuHarness.CodeOffset), [.. code, 0xF4]);
        m.Cpu.FlushDecodeCache();
        m.Cpu.SetRegister(GeneralRegister.Rax, Sentinel);
        m.Cpu.Run(100);
    }
}
