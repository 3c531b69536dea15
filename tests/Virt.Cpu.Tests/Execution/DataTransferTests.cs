using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.Execution;

/// <summary>The data-transfer family (MOV, MOVSX/MOVZX, XCHG, LEA, BSWAP, PUSH/POP, PUSHA/POPA, ENTER/LEAVE) and the operand- and address-size prefixes.</summary>
public sealed class DataTransferTests
{
    private readonly CpuHarness _machine = new();

    [Fact]
    public void Data_movement_and_extension()
    {
        _machine.Run(a =>
        {
            a.mov(ax, 0x8001);
            a.movsx(ebx, ax);
            a.movzx(ecx, ax);
            a.mov(dx, 0x1234);
            a.xchg(dl, dh);
            a.lea(si, __word_ptr[bx + di + 0x10]);
            a.bswap(ecx);
            a.hlt();
        });
        Assert.Equal(0xFFFF8001UL, _machine.Reg(GeneralRegister.Rbx));
        Assert.Equal(0x01800000UL, _machine.Reg(GeneralRegister.Rcx));
        Assert.Equal(0x3412UL, _machine.Reg(GeneralRegister.Rdx) & 0xFFFF);
        Assert.Equal(0x8011UL, _machine.Reg(GeneralRegister.Rsi) & 0xFFFF);
    }

    [Fact]
    public void Stack_pusha_popa_enter_leave()
    {
        _machine.Run(a =>
        {
            a.mov(ax, 1);
            a.mov(bp, 0x7000);
            a.pusha();
            a.mov(ax, 2);
            a.popa();
            a.enter(8, 2);
            a.mov(cx, sp);
            a.mov(dx, bp);
            a.leave();
            a.hlt();
        });
        Assert.Equal(1UL, _machine.Reg(GeneralRegister.Rax) & 0xFFFF);
        Assert.Equal(0x8000UL, _machine.Reg(GeneralRegister.Rsp) & 0xFFFF);
        Assert.Equal(0x7000UL, _machine.Reg(GeneralRegister.Rbp) & 0xFFFF);

        // ENTER 8,2: push BP (7FFE), copy one outer frame pointer (7FFC), push frame (7FFA), then 8 bytes: SP = 7FF2, BP = 7FFE.
        Assert.Equal(0x7FF2UL, _machine.Reg(GeneralRegister.Rcx) & 0xFFFF);
        Assert.Equal(0x7FFEUL, _machine.Reg(GeneralRegister.Rdx) & 0xFFFF);
    }

    [Fact]
    public void Operand_and_address_size_prefixes_in_real_mode()
    {
        _machine.Memory.WriteDoubleWord(new PhysicalAddress(0x12340), 0xCAFEBABE);
        void Setup(Iced.Intel.Assembler a)
        {
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(eax, 0x5A5A_5A5A);
            a.mov(ebx, 0x12000);
        }

        _machine.Load(a =>
        {
            Setup(a);
            a.mov(eax, __dword_ptr[ebx + 0x340]); // 67h: a 32-bit offset beyond the 64 KiB limit
            a.hlt();
        });
        _machine.InstallHaltHandler(13);
        Assert.Equal(StopReason.Halted, _machine.Cpu.Run(100));

        // Intel SDM Vol. 2A, MOV, "Real-Address Mode Exceptions": #GP for an offset outside the DS limit, as a fault:
        // EAX keeps its value and the frame (IP, CS, FLAGS) points at the MOV itself.
        Assert.Equal(CpuHarness.HaltHandlerReturn(13), _machine.Cpu.Eip);
        Assert.Equal(0x5A5A_5A5AUL, _machine.Reg(GeneralRegister.Rax));
        Assert.Equal(0x7FFAUL, _machine.Reg(GeneralRegister.Rsp) & 0xFFFF);
        Assert.Equal(CpuHarness.CodeOffset + CpuHarness.Assemble(Setup).Length, _machine.Word(0x7FFA));
        Assert.Equal(0, _machine.Word(0x7FFC));

        _machine.Run(a =>
        {
            a.mov(ax, 0x1234);
            a.mov(ds, ax);
            a.mov(ebx, 0);
            a.mov(eax, __dword_ptr[ebx]);
            a.hlt();
        });
        Assert.Equal(0xCAFEBABEUL, _machine.Reg(GeneralRegister.Rax));
    }
}
