using Iced.Intel;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>The CS limit on instruction fetch and on branch targets: #GP(0) (Intel SDM Vol. 3A, 5.3; real mode 20.1.3).</summary>
public sealed class CodeLimitTests
{
    private const ushort SmallCode = 0x70;
    private const uint SmallCodeLimit = 0xFF;

    // 32-bit code, base 10000h (the harness's code address), byte-granular limit FFh.
    private const ulong SmallCodeDescriptor = 0x0040_9A01_0000_00FF;

    /// <summary>
    /// Writes <paramref name="nops"/> NOPs at offset 0, then MOV EAX,12345678h (5 bytes), then HLT; runs up to the HLT through
    /// flat CS (which caches the decoded blocks), then from offset 0 through the small CS without flushing the decode cache.
    /// </summary>
    private static H RunTwice(int nops)
    {
        var m = new H();
        m.SetDescriptor(SmallCode, SmallCodeDescriptor);
        m.InstallGate(13);
        m.Load(a =>
        {
            for (int i = 0; i < nops; i++)
            {
                a.nop();
            }

            a.mov(eax, 0x1234_5678);
            a.hlt();
        });
        Assert.Equal(StopReason.BudgetExhausted, m.Cpu.Run(nops + 1));
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(H.CodeAddress + (uint)nops + 5, m.Cpu.Eip); // the same bytes run fine under a 4 GiB limit
        Assert.Equal(0x1234_5678UL, m.Reg(GeneralRegister.Rax));

        m.Cpu.SetRegister(GeneralRegister.Rax, 0);
        m.Cpu.LoadSegmentFromDescriptor(SegmentRegister.Cs, SmallCode, SmallCodeDescriptor);
        m.Cpu.Eip = 0;
        m.Cpu.Run(1000);
        return m;
    }

    private static void AssertGpAt(H m, uint eip)
    {
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(H.HandlerAddress(13) + 1, m.Cpu.Eip);
        uint esp = (uint)m.Reg(GeneralRegister.Rsp);
        Assert.Equal(0u, m.Dword(esp)); // error code 0
        Assert.Equal(eip, m.Dword(esp + 4));
        Assert.Equal(SmallCode, (ushort)m.Dword(esp + 8));
    }

    [Fact]
    public void Execution_up_to_the_limit_then_gp_at_the_first_offset_beyond()
    {
        // NOPs 0-FAh, MOV EAX at FBh-FFh (the last byte is the limit), HLT at 100h is beyond it.
        H m = RunTwice((int)SmallCodeLimit - 4);
        AssertGpAt(m, SmallCodeLimit + 1);
        Assert.Equal(0x1234_5678UL, m.Reg(GeneralRegister.Rax));
    }

    [Fact]
    public void Instruction_crossing_the_limit_is_gp_at_its_start()
    {
        // MOV EAX at FDh-101h: its first bytes are within the limit, its last ones are not.
        H m = RunTwice((int)SmallCodeLimit - 2);
        AssertGpAt(m, SmallCodeLimit - 2);
        Assert.Equal(0UL, m.Reg(GeneralRegister.Rax)); // not executed
    }

    [Theory]
    [InlineData(0)] // JMP
    [InlineData(1)] // CALL
    [InlineData(2)] // RET
    [InlineData(3)] // IRETD
    public void Branch_targets_beyond_the_limit_are_gp_at_the_branch(int kind)
    {
        var m = new H();
        m.SetDescriptor(SmallCode, SmallCodeDescriptor);
        m.InstallGate(13);
        byte[] code = H.Assemble(32, a =>
        {
            a.nop();
            switch (kind)
            {
                case 0:
                    a.jmp(0x200UL);
                    break;
                case 1:
                    a.call(0x200UL);
                    break;
                case 2:
                    a.push(0x200);
                    a.ret();
                    break;
                default:
                    a.pushfd();
                    a.push((uint)SmallCode);
                    a.push(0x200);
                    a.iretd();
                    break;
            }
        }, 0);
        m.Load(_ => { });
        m.Memory.Write(new PhysicalAddress(H.CodeAddress), code);
        m.Cpu.FlushDecodeCache();
        m.Cpu.LoadSegmentFromDescriptor(SegmentRegister.Cs, SmallCode, SmallCodeDescriptor);
        m.Cpu.Eip = 0;
        m.Cpu.Run(100);

        uint branch = kind switch
        {
            0 or 1 => 1u,
            2 => 1u + 5, // after PUSH imm32
            _ => 1u + 1 + 2 + 5, // after PUSHFD, PUSH imm8 (70h), PUSH imm32
        };
        AssertGpAt(m, branch);
    }

    [Fact]
    public void Real_mode_instruction_crossing_offset_ffff_is_gp()
    {
        var m = new CpuHarness();
        m.InstallHaltHandler(13);
        m.Load(_ => { });
        m.Memory.Write(new PhysicalAddress(0x1FFFE), [0xB8, 0x34, 0x12]); // MOV AX,1234h at 1000:FFFE, crossing FFFFh
        m.Cpu.SetSegment(SegmentRegister.Cs, SegmentState.RealMode(0x1000));
        m.Cpu.Eip = 0xFFFE;
        m.Cpu.SetRegister(GeneralRegister.Rax, 0x5A5A);
        m.Cpu.Run(10);
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(CpuHarness.HaltHandlerReturn(13), m.Cpu.Eip);
        Assert.Equal(0xFFFE, m.Word(0x8000 - 6)); // pushed IP: the instruction
        Assert.Equal(0x1000, m.Word(0x8000 - 4)); // pushed CS
        Assert.Equal(0x5A5AUL, m.Reg(GeneralRegister.Rax) & 0xFFFF); // a fault: the MOV did not happen
    }

    [Fact]
    public void Real_mode_one_byte_instruction_at_ffff_still_wraps_to_zero()
    {
        var m = new CpuHarness();
        m.Load(_ => { });
        m.Memory.WriteByte(new PhysicalAddress(0x1FFFF), 0x90); // NOP at 1000:FFFF
        m.Memory.WriteByte(new PhysicalAddress(0x10000), 0xF4); // HLT at 1000:0000
        m.Cpu.SetSegment(SegmentRegister.Cs, SegmentState.RealMode(0x1000));
        m.Cpu.Eip = 0xFFFF;
        m.Cpu.Run(10);
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.True(m.Cpu.IsHalted);
        Assert.Equal(1u, m.Cpu.Eip);
    }
}
