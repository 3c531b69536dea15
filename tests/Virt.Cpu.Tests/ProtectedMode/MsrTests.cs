using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.ProtectedMode.ProtectedModeHarness;

namespace Virt.Cpu.Tests.ProtectedMode;

/// <summary>RDMSR/WRMSR, SYSENTER/SYSEXIT and CR4 (Intel SDM Vol. 2B; Vol. 4).</summary>
public sealed class MsrTests
{
    [Fact]
    public void Unknown_msr_is_gp_zero()
    {
        var m = new H();
        m.InstallGate(13);
        m.Run(a =>
        {
            a.mov(ecx, 0x1234);
            a.rdmsr();
            a.hlt();
        });
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(0u, m.Dword(H.StackTop - 16));
        Assert.Equal(H.CodeAddress + 5, m.Dword(H.StackTop - 12));
    }

    /// <summary>
    /// The microcode signature procedure of Intel SDM Vol. 3A, 10.11.7.1 (write 0 to IA32_BIOS_SIGN_ID, CPUID(1), read it):
    /// no #GP, and the signature of the update loaded (none) is 0. Linux runs it at boot; the QEMU console comparison found
    /// Virt raising #GP there.
    /// </summary>
    [Fact]
    public void Bios_sign_id_takes_the_signature_procedure_without_a_fault()
    {
        var m = new H();
        m.InstallGate(13);
        m.Run(a =>
        {
            a.mov(ecx, 0x8B);
            a.xor(eax, eax);
            a.xor(edx, edx);
            a.wrmsr();
            a.mov(eax, 1);
            a.cpuid();
            a.mov(ecx, 0x8B);
            a.mov(eax, 0x5A5A_5A5A);
            a.mov(edx, 0x5A5A_5A5A);
            a.rdmsr();
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0UL, m.Cpu.GetRegister(GeneralRegister.Rax));
        Assert.Equal(0UL, m.Cpu.GetRegister(GeneralRegister.Rdx));
    }

    /// <summary>
    /// IA32_MISC_ENABLE (1A0h) exists: 64-bit Linux's verify_cpu reads it without a fault handler on any Intel family 6
    /// model 0Dh or later and writes it back with XD Disable (bit 34) cleared; Debian's amd64 kernel triple-faulted there.
    /// </summary>
    [Fact]
    public void Misc_enable_reads_fast_strings_and_takes_the_xd_disable_write_back()
    {
        var m = new H();
        m.InstallGate(13);
        m.Run(a =>
        {
            a.mov(ecx, 0x1A0);
            a.rdmsr();
            a.and(edx, ~4);
            a.wrmsr();
            a.mov(eax, 0x5A5A_5A5A);
            a.mov(edx, 0x5A5A_5A5A);
            a.rdmsr();
            a.hlt();
        });
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(1UL, m.Cpu.GetRegister(GeneralRegister.Rax) & 1);
        Assert.Equal(0UL, m.Cpu.GetRegister(GeneralRegister.Rdx) & 4);
    }

    /// <summary>
    /// IA32_PLATFORM_ID (17h) reads platform 0 and is read-only: Linux's microcode driver reads it unguarded on Intel family 6
    /// (Debian's amd64 kernel printed "unchecked MSR access error: RDMSR from 0x17").
    /// </summary>
    [Fact]
    public void Platform_id_reads_platform_zero_and_a_write_is_gp()
    {
        var m = new H();
        m.InstallGate(13);
        m.Run(a =>
        {
            a.mov(ecx, 0x17);
            a.mov(eax, 0x5A5A_5A5A);
            a.mov(edx, 0x5A5A_5A5A);
            a.rdmsr();
            a.mov(ebx, eax);
            a.mov(esi, edx);
            a.wrmsr();
            a.hlt();
        });
        Assert.Equal(0UL, m.Cpu.GetRegister(GeneralRegister.Rbx));
        Assert.Equal(0UL, m.Cpu.GetRegister(GeneralRegister.Rsi));
        Assert.Equal(13, m.Cpu.LastExceptionVector);
    }

    [Fact]
    public void Sysenter_and_sysexit_use_the_msrs_and_fixed_flat_segments()
    {
        const uint kernelEntry = 0x15000;
        const uint userCode = 0x16000;
        var m = new H();
        m.Memory.Write(new PhysicalAddress(kernelEntry), H.Assemble(32, a =>
        {
            a.mov(esi, cs);
            a.mov(edi, ss);
            a.mov(ebp, esp);
            a.mov(edx, userCode);
            a.mov(ecx, 0x7E000);
            a.sysexit();
        }, kernelEntry));
        m.Memory.Write(new PhysicalAddress(userCode), H.Assemble(32, a =>
        {
            a.mov(ebx, cs);
            a.mov(eax, ss);
            a.jmp(userCode + 4); // spin at CPL 3 (HLT would fault)
        }, userCode));
        m.Run(a =>
        {
            a.mov(ecx, 0x174);
            a.mov(eax, H.FlatCode);
            a.xor(edx, edx);
            a.wrmsr();
            a.mov(ecx, 0x175);
            a.mov(eax, 0x6F000);
            a.wrmsr();
            a.mov(ecx, 0x176);
            a.mov(eax, kernelEntry);
            a.wrmsr();
            a.mov(ecx, 0x176);
            a.rdmsr();
            a.sysenter();
        }, 60);
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal((ulong)H.FlatCode, m.Reg(GeneralRegister.Rsi));
        Assert.Equal((ulong)H.FlatData, m.Reg(GeneralRegister.Rdi));
        Assert.Equal(0x6F000UL, m.Reg(GeneralRegister.Rbp));
        Assert.Equal(3, m.Cpu.Cpl);
        Assert.Equal((ulong)(H.FlatCode + 16) | 3, m.Reg(GeneralRegister.Rbx));
        Assert.Equal((ulong)(H.FlatCode + 24) | 3, m.Reg(GeneralRegister.Rax));
        Assert.Equal(0x7E000UL, m.Reg(GeneralRegister.Rsp));
    }

    [Fact]
    public void Rdtsc_counts_every_instruction_before_it_even_within_one_straight_line_run()
    {
        // Without a time source the TSC is the retired-instruction count: two reads three instructions apart differ by 4.
        var m = new H();
        m.Run(a =>
        {
            a.rdtsc();
            a.mov(esi, eax);
            a.nop();
            a.nop();
            a.rdtsc();
            a.sub(eax, esi);
            a.hlt();
        });
        Assert.Equal(4UL, m.Reg(GeneralRegister.Rax));
    }

    [Fact]
    public void Time_stamp_counter_msr_sets_what_rdtsc_reads_and_cr4_rejects_unknown_bits()
    {
        var m = new H();
        m.InstallGate(13);
        m.Run(a =>
        {
            a.mov(ecx, 0x10);
            a.mov(edx, 5);
            a.xor(eax, eax);
            a.wrmsr();
            a.rdtsc();
            a.mov(esi, edx);
            a.mov(eax, 1 << 20); // CR4.SMEP: not implemented
            a.mov(cr4, eax);
            a.hlt();
        });
        Assert.Equal(5UL, m.Reg(GeneralRegister.Rsi));
        Assert.Equal(13, m.Cpu.LastExceptionVector);
        Assert.Equal(0UL, m.Cpu.Cr4);
    }
}
