using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests;

/// <summary>Unit tests per instruction family, with guest code built by Iced's assembler.</summary>
public sealed class InstructionTests
{
    private readonly CpuHarness _m = new();

    [Fact]
    public void Data_movement_and_extension()
    {
        _m.Run(a =>
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
        Assert.Equal(0xFFFF8001UL, _m.Reg(GeneralRegister.Rbx));
        Assert.Equal(0x01800000UL, _m.Reg(GeneralRegister.Rcx));
        Assert.Equal(0x3412UL, _m.Reg(GeneralRegister.Rdx) & 0xFFFF);
        Assert.Equal(0x8011UL, _m.Reg(GeneralRegister.Rsi) & 0xFFFF);
    }

    [Fact]
    public void Stack_pusha_popa_enter_leave()
    {
        _m.Run(a =>
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
        Assert.Equal(1UL, _m.Reg(GeneralRegister.Rax) & 0xFFFF);
        Assert.Equal(0x8000UL, _m.Reg(GeneralRegister.Rsp) & 0xFFFF);
        Assert.Equal(0x7000UL, _m.Reg(GeneralRegister.Rbp) & 0xFFFF);

        // ENTER 8,2: push BP (7FFE), copy one outer frame pointer (7FFC), push frame (7FFA), then 8 bytes: SP = 7FF2, BP = 7FFE.
        Assert.Equal(0x7FF2UL, _m.Reg(GeneralRegister.Rcx) & 0xFFFF);
        Assert.Equal(0x7FFEUL, _m.Reg(GeneralRegister.Rdx) & 0xFFFF);
    }

    [Fact]
    public void Strings_in_both_directions_with_rep_and_repne()
    {
        _m.Memory.Write(new Virt.Memory.PhysicalAddress(0x2000), "hello world\0"u8);
        _m.Run(a =>
        {
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.mov(si, 0x2000);
            a.mov(di, 0x3000);
            a.mov(cx, 12);
            a.cld();
            a.rep.movsb();
            a.mov(di, 0x3000);
            a.mov(cx, 0xFFFF);
            a.xor(al, al);
            a.repne.scasb();
            a.mov(bx, cx);
            a.std();
            a.mov(di, 0x4003);
            a.mov(cx, 4);
            a.mov(al, 0x5A);
            a.rep.stosb();
            a.cld();
            a.hlt();
        });
        Assert.Equal((byte)'w', _m.Memory.ReadByte(new Virt.Memory.PhysicalAddress(0x3006)));

        // REPNE SCASB stops after the NUL at index 11: 12 iterations, CX = FFFF - 12.
        Assert.Equal(0xFFFFUL - 12, _m.Reg(GeneralRegister.Rbx) & 0xFFFF);
        Assert.Equal(0x5A5A5A5Au, _m.Memory.ReadDoubleWord(new Virt.Memory.PhysicalAddress(0x4000)));
    }

    [Fact]
    public void Rep_movs_resumes_after_the_budget_runs_out_mid_way()
    {
        _m.Load(a =>
        {
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.mov(si, 0x2000);
            a.mov(di, 0x3000);
            a.mov(cx, 100);
            a.cld();
            a.rep.movsb();
            a.hlt();
        });
        for (int i = 0; i < 100; i++)
        {
            _m.Memory.WriteByte(new Virt.Memory.PhysicalAddress(0x2000 + (ulong)i), (byte)i);
        }

        // 7 setup instructions, then 10 iterations: stops inside the REP with CX = 90.
        Assert.Equal(StopReason.BudgetExhausted, _m.Cpu.Run(17));
        Assert.Equal(90UL, _m.Reg(GeneralRegister.Rcx) & 0xFFFF);
        Assert.Equal(StopReason.Halted, _m.Cpu.Run(1000));
        Assert.Equal(0UL, _m.Reg(GeneralRegister.Rcx) & 0xFFFF);
        Assert.Equal(99, _m.Memory.ReadByte(new Virt.Memory.PhysicalAddress(0x3063)));
        Assert.Equal(7 + 100 + 1, _m.Cpu.RetiredInstructions);
    }

    [Fact]
    public void Control_flow_calls_loops_and_far_transfers()
    {
        // A far function at 0070:0000 (linear 700h): add ax, 100; retf.
        _m.Memory.Write(new Virt.Memory.PhysicalAddress(0x700), new byte[] { 0x05, 0x64, 0x00, 0xCB });
        _m.Run(a =>
        {
            Iced.Intel.Label function = a.CreateLabel();
            Iced.Intel.Label loop = a.CreateLabel();
            Iced.Intel.Label far = a.CreateLabel();
            a.xor(ax, ax);
            a.mov(cx, 5);
            a.Label(ref loop);
            a.call(function);
            a.loop(loop);
            a.jcxz(far);
            a.hlt();
            a.Label(ref far);
            a.call(0x0070, 0x0000);
            a.hlt();
            a.Label(ref function);
            a.add(ax, 3);
            a.ret();
        });

        // Five near calls add 3 each, the far call adds 100 and returns.
        Assert.Equal(115UL, _m.Reg(GeneralRegister.Rax) & 0xFFFF);
        Assert.Equal(0x8000UL, _m.Reg(GeneralRegister.Rsp) & 0xFFFF);
    }

    [Fact]
    public void Conditional_moves_sets_and_bit_instructions()
    {
        _m.Run(a =>
        {
            a.mov(eax, 0x00F0);
            a.bsf(ebx, eax);
            a.bsr(ecx, eax);
            a.bts(eax, 0);
            a.cmp(eax, 0xF1);
            a.sete(dl);
            a.mov(esi, 7);
            a.cmovne(esi, ebx);
            a.cmove(edi, ecx);
            a.hlt();
        });
        Assert.Equal(4UL, _m.Reg(GeneralRegister.Rbx));
        Assert.Equal(7UL, _m.Reg(GeneralRegister.Rcx));
        Assert.Equal(0xF1UL, _m.Reg(GeneralRegister.Rax));
        Assert.Equal(1UL, _m.Reg(GeneralRegister.Rdx) & 0xFF);
        Assert.Equal(7UL, _m.Reg(GeneralRegister.Rsi));
        Assert.Equal(7UL, _m.Reg(GeneralRegister.Rdi));
    }

    [Fact]
    public void Xadd_cmpxchg_and_cmpxchg8b()
    {
        _m.Memory.WriteQuadWord(new Virt.Memory.PhysicalAddress(0x600), 0x1111111122222222);
        _m.Run(a =>
        {
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(eax, 0x22222222);
            a.mov(edx, 0x11111111);
            a.mov(ebx, 0x44444444);
            a.mov(ecx, 0x33333333);
            a.cmpxchg8b(__qword_ptr[0x600]);
            a.setz(__byte_ptr[0x610]);
            a.mov(si, 5);
            a.mov(di, 10);
            a.xadd(si, di);
            a.mov(ax, 1);
            a.mov(bx, 9);
            a.mov(cx, 1);
            a.cmpxchg(cx, bx);
            a.hlt();
        });
        Assert.Equal(0x3333333344444444UL, _m.Memory.ReadQuadWord(new Virt.Memory.PhysicalAddress(0x600)));
        Assert.Equal(1, _m.Memory.ReadByte(new Virt.Memory.PhysicalAddress(0x610)));
        Assert.Equal(15UL, _m.Reg(GeneralRegister.Rsi) & 0xFFFF);
        Assert.Equal(5UL, _m.Reg(GeneralRegister.Rdi) & 0xFFFF);
        Assert.Equal(9UL, _m.Reg(GeneralRegister.Rcx) & 0xFFFF);
    }

    [Fact]
    public void Bcd_adjusts_and_aam_zero()
    {
        _m.Run(a =>
        {
            a.mov(al, 0x19);
            a.add(al, 0x28);
            a.daa();
            a.mov(bl, al);
            a.mov(ax, 0x0009);
            a.add(al, 0x05);
            a.aaa();
            a.mov(cx, ax);
            a.mov(al, 77);
            a.aam(10);
            a.hlt();
        });
        Assert.Equal(0x47UL, _m.Reg(GeneralRegister.Rbx) & 0xFF);
        Assert.Equal(0x0104UL, _m.Reg(GeneralRegister.Rcx) & 0xFFFF);
        Assert.Equal(0x0707UL, _m.Reg(GeneralRegister.Rax) & 0xFFFF);

        _m.Load(a =>
        {
            a.aam(0);
            a.hlt();
        });
        _m.InstallHaltHandler(0);
        _m.Cpu.Run(10);
        Assert.Equal(CpuHarness.HaltHandlerReturn(0), _m.Cpu.Eip);
    }

    [Fact]
    public void Cpuid_reports_the_vendor_and_only_implemented_features()
    {
        var m = new CpuHarness(new CpuOptions { VendorString = "VirtVirtVirt" });
        m.Run(a =>
        {
            a.xor(eax, eax);
            a.cpuid();
            a.mov(esi, ebx);
            a.mov(eax, 1);
            a.cpuid();
            a.hlt();
        });
        Assert.Equal(0x74726956UL, m.Reg(GeneralRegister.Rsi)); // "Virt"
        ulong edx = m.Reg(GeneralRegister.Rdx);
        Assert.NotEqual(0UL, edx & 1); // FPU (x87)
        Assert.NotEqual(0UL, edx & (1 << 4)); // TSC
        Assert.NotEqual(0UL, edx & (1 << 15)); // CMOV
    }

    [Fact]
    public void Port_io_goes_through_the_port_space()
    {
        _m.Run(a =>
        {
            a.mov(dx, 0x1234);
            a.@in(al, dx);
            a.mov(bl, al);
            a.@in(ax, 0x60);
            a.hlt();
        });

        // Unmapped ports read as all ones.
        Assert.Equal(0xFFUL, _m.Reg(GeneralRegister.Rbx) & 0xFF);
        Assert.Equal(0xFFFFUL, _m.Reg(GeneralRegister.Rax) & 0xFFFF);
    }

    [Fact]
    public void Operand_and_address_size_prefixes_in_real_mode()
    {
        _m.Memory.WriteDoubleWord(new Virt.Memory.PhysicalAddress(0x12340), 0xCAFEBABE);
        _m.Run(a =>
        {
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(ebx, 0x12000);
            a.mov(eax, __dword_ptr[ebx + 0x340]); // 67h: 32-bit address beyond 64 KiB -> #GP in real mode
            a.hlt();
        });
        Assert.NotEqual(0xCAFEBABEUL, _m.Reg(GeneralRegister.Rax));

        _m.Run(a =>
        {
            a.mov(ax, 0x1234);
            a.mov(ds, ax);
            a.mov(ebx, 0);
            a.mov(eax, __dword_ptr[ebx]);
            a.hlt();
        });
        Assert.Equal(0xCAFEBABEUL, _m.Reg(GeneralRegister.Rax));
    }
}
